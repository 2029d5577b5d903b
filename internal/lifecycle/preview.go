package lifecycle

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// Wire values of the preview shapes (ECR model: ImageActionType,
// LifecyclePolicyStorageClass, LifecyclePolicyTargetStorageClass, TagStatus).
const (
	WireActionExpire      = "EXPIRE"
	WireActionTransition  = "TRANSITION"
	WireStorageStandard   = "STANDARD"
	WireStorageArchive    = "ARCHIVE"
	WireTagStatusTagged   = "TAGGED"
	WireTagStatusUntagged = "UNTAGGED"
	WireTagStatusAny      = "ANY"
)

// PreviewResult mirrors the model's LifecyclePolicyPreviewResult; field
// comments name the wire members. The adapter encodes ImagePushedAt as epoch
// seconds.
type PreviewResult struct {
	ImageTags           []string      // imageTags
	ImageDigest         digest.Digest // imageDigest
	ImagePushedAt       time.Time     // imagePushedAt
	Action              RuleAction    // action
	AppliedRulePriority int           // appliedRulePriority
	StorageClass        string        // storageClass: STANDARD | ARCHIVE
}

// RuleAction mirrors LifecyclePolicyRuleAction.
type RuleAction struct {
	Type               string // type: EXPIRE | TRANSITION
	TargetStorageClass string // targetStorageClass: ARCHIVE, only for TRANSITION
}

// PreviewSummary mirrors LifecyclePolicyPreviewSummary.
type PreviewSummary struct {
	ExpiringImageTotalCount int // expiringImageTotalCount
	// TransitioningImageTotalCounts is nil unless some image transitions, as
	// ECR omits the member then.
	TransitioningImageTotalCounts []TransitioningImageTotalCount
}

// TransitioningImageTotalCount mirrors the model shape of the same name.
type TransitioningImageTotalCount struct {
	TargetStorageClass string // targetStorageClass: ARCHIVE
	ImageTotalCount    int    // imageTotalCount
}

// Preview converts evaluation results to preview results, in the same order.
func Preview(results []Result) []PreviewResult {
	if len(results) == 0 {
		return nil
	}
	out := make([]PreviewResult, len(results))
	for i, r := range results {
		out[i] = PreviewResult{
			ImageTags:           r.Tags,
			ImageDigest:         r.Digest,
			ImagePushedAt:       r.PushedAt,
			Action:              wireAction(r),
			AppliedRulePriority: r.RulePriority,
			StorageClass:        wireImageStorageClass(r.StorageClass),
		}
	}
	return out
}

// Summarize counts the results the way the preview summary does.
func Summarize(results []Result) PreviewSummary {
	var s PreviewSummary
	transitioning := make(map[string]int)
	var order []string
	for _, r := range results {
		switch r.Action {
		case ActionExpire:
			s.ExpiringImageTotalCount++
		case ActionTransition:
			target := wireStorageClass(r.TargetStorageClass)
			if _, seen := transitioning[target]; !seen {
				order = append(order, target)
			}
			transitioning[target]++
		}
	}
	for _, target := range order {
		s.TransitioningImageTotalCounts = append(s.TransitioningImageTotalCounts,
			TransitioningImageTotalCount{TargetStorageClass: target, ImageTotalCount: transitioning[target]})
	}
	return s
}

// FilterPreview keeps the preview results whose image matches the
// LifecyclePolicyPreviewFilter tagStatus (TAGGED, UNTAGGED or ANY; empty means
// ANY). It reports false for any other value.
func FilterPreview(results []PreviewResult, tagStatus string) ([]PreviewResult, bool) {
	var keep func(PreviewResult) bool
	switch tagStatus {
	case "", WireTagStatusAny:
		return results, true
	case WireTagStatusTagged:
		keep = func(r PreviewResult) bool { return len(r.ImageTags) > 0 }
	case WireTagStatusUntagged:
		keep = func(r PreviewResult) bool { return len(r.ImageTags) == 0 }
	default:
		return nil, false
	}
	var out []PreviewResult
	for _, r := range results {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out, true
}

func wireAction(r Result) RuleAction {
	if r.Action == ActionTransition {
		return RuleAction{Type: WireActionTransition, TargetStorageClass: wireStorageClass(r.TargetStorageClass)}
	}
	return RuleAction{Type: WireActionExpire}
}

func wireStorageClass(c StorageClass) string {
	if c == StorageArchive {
		return WireStorageArchive
	}
	return WireStorageStandard
}

func wireImageStorageClass(c ImageStorageClass) string {
	if c == ImageArchived {
		return WireStorageArchive
	}
	return WireStorageStandard
}
