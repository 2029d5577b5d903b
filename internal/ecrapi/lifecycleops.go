package ecrapi

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/lifecycle"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

// registerLifecycleOps registers lifecycle policies, previews, the archive
// storage class and pull-time update exclusions.
func (s *Service) registerLifecycleOps(d *Dispatcher) {
	d.Register("PutLifecyclePolicy", s.putLifecyclePolicy)
	d.Register("GetLifecyclePolicy", s.getLifecyclePolicy)
	d.Register("DeleteLifecyclePolicy", s.deleteLifecyclePolicy)
	d.Register("StartLifecyclePolicyPreview", s.startLifecyclePolicyPreview)
	d.Register("GetLifecyclePolicyPreview", s.getLifecyclePolicyPreview)
	d.Register("UpdateImageStorageClass", s.updateImageStorageClass)
	d.Register("RegisterPullTimeUpdateExclusion", s.registerPullTimeUpdateExclusion)
	d.Register("DeregisterPullTimeUpdateExclusion", s.deregisterPullTimeUpdateExclusion)
	d.Register("ListPullTimeUpdateExclusions", s.listPullTimeUpdateExclusions)
}

// lifecycleErrorCodes maps the lifecycle kinds of the core to exceptions.
var lifecycleErrorCodes = map[registry.Kind]string{
	registry.KindLifecyclePolicyNotFound:    "LifecyclePolicyNotFoundException",
	registry.KindLifecyclePreviewNotFound:   "LifecyclePolicyPreviewNotFoundException",
	registry.KindLifecyclePreviewInProgress: "LifecyclePolicyPreviewInProgressException",
	registry.KindExclusionExists:            "ExclusionAlreadyExistsException",
	registry.KindExclusionNotFound:          "ExclusionNotFoundException",
}

// lifecycleError maps a core error, keeping the engine's own exception for
// a policy text that fails validation.
func lifecycleError(err error) error {
	var le *lifecycle.Error
	if errors.As(err, &le) {
		return Errorf(le.Code, "%s", le.Message)
	}
	if e, ok := registry.AsError(err); ok {
		if code, ok := lifecycleErrorCodes[e.Kind]; ok {
			return Errorf(code, "%s", e.Message)
		}
	}
	return coreError(err)
}

// ---- policies ----

type lifecyclePolicyInput struct {
	RegistryID          *string `json:"registryId"`
	RepositoryName      string  `json:"repositoryName"`
	LifecyclePolicyText *string `json:"lifecyclePolicyText"`
}

type lifecyclePolicyOutput struct {
	RegistryID          string    `json:"registryId"`
	RepositoryName      string    `json:"repositoryName"`
	LifecyclePolicyText string    `json:"lifecyclePolicyText"`
	LastEvaluatedAt     EpochTime `json:"lastEvaluatedAt,omitzero"`
}

func (s *Service) decodeLifecycleInput(req *Request) (*lifecyclePolicyInput, error) {
	var in lifecyclePolicyInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	return &in, nil
}

func (s *Service) policyOutput(p *registry.LifecyclePolicy, withEvaluated bool) *lifecyclePolicyOutput {
	out := &lifecyclePolicyOutput{RegistryID: s.opts.AccountID, RepositoryName: p.Repository, LifecyclePolicyText: p.Text}
	if withEvaluated && p.LastEvaluatedAt != nil {
		out.LastEvaluatedAt = EpochTime(*p.LastEvaluatedAt)
	}
	return out
}

func (s *Service) putLifecyclePolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeLifecycleInput(req)
	if err != nil {
		return nil, err
	}
	p, err := s.core.PutLifecyclePolicy(ctx, in.RepositoryName, str(in.LifecyclePolicyText))
	if err != nil {
		return nil, lifecycleError(err)
	}
	return s.policyOutput(p, false), nil
}

func (s *Service) getLifecyclePolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeLifecycleInput(req)
	if err != nil {
		return nil, err
	}
	p, err := s.core.GetLifecyclePolicy(ctx, in.RepositoryName)
	if err != nil {
		return nil, lifecycleError(err)
	}
	return s.policyOutput(p, true), nil
}

func (s *Service) deleteLifecyclePolicy(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeLifecycleInput(req)
	if err != nil {
		return nil, err
	}
	p, err := s.core.DeleteLifecyclePolicy(ctx, in.RepositoryName)
	if err != nil {
		return nil, lifecycleError(err)
	}
	return s.policyOutput(p, true), nil
}

// ---- previews ----

type startPreviewOutput struct {
	RegistryID          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
	Status              string `json:"status"`
}

func (s *Service) startLifecyclePolicyPreview(ctx context.Context, req *Request) (any, error) {
	in, err := s.decodeLifecycleInput(req)
	if err != nil {
		return nil, err
	}
	pv, err := s.core.StartLifecyclePreview(ctx, in.RepositoryName, str(in.LifecyclePolicyText))
	if err != nil {
		return nil, lifecycleError(err)
	}
	return &startPreviewOutput{RegistryID: s.opts.AccountID, RepositoryName: pv.Repository,
		LifecyclePolicyText: pv.PolicyText, Status: pv.Status}, nil
}

type getPreviewInput struct {
	RegistryID     *string           `json:"registryId"`
	RepositoryName string            `json:"repositoryName"`
	ImageIDs       []imageIdentifier `json:"imageIds"`
	NextToken      *string           `json:"nextToken"`
	MaxResults     *int32            `json:"maxResults"`
	Filter         *struct {
		TagStatus *string `json:"tagStatus"`
	} `json:"filter"`
}

type ruleActionJSON struct {
	Type               string `json:"type"`
	TargetStorageClass string `json:"targetStorageClass,omitempty"`
}

type previewResultJSON struct {
	ImageTags           []string       `json:"imageTags,omitempty"`
	ImageDigest         string         `json:"imageDigest"`
	ImagePushedAt       EpochTime      `json:"imagePushedAt,omitzero"`
	Action              ruleActionJSON `json:"action"`
	AppliedRulePriority int            `json:"appliedRulePriority"`
	StorageClass        string         `json:"storageClass,omitempty"`
}

type transitionCountJSON struct {
	TargetStorageClass string `json:"targetStorageClass"`
	ImageTotalCount    int    `json:"imageTotalCount"`
}

type previewSummaryJSON struct {
	ExpiringImageTotalCount       int                   `json:"expiringImageTotalCount"`
	TransitioningImageTotalCounts []transitionCountJSON `json:"transitioningImageTotalCounts,omitempty"`
}

type getPreviewOutput struct {
	RegistryID          string              `json:"registryId"`
	RepositoryName      string              `json:"repositoryName"`
	LifecyclePolicyText string              `json:"lifecyclePolicyText"`
	Status              string              `json:"status"`
	PreviewResults      []previewResultJSON `json:"previewResults"`
	Summary             *previewSummaryJSON `json:"summary,omitempty"`
	NextToken           string              `json:"nextToken,omitempty"`
}

// defaultPreviewPageSize is ECR's page size for preview results.
const defaultPreviewPageSize = 100

func (s *Service) getLifecyclePolicyPreview(ctx context.Context, req *Request) (any, error) {
	var in getPreviewInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	if len(in.ImageIDs) > 0 && (in.NextToken != nil || in.MaxResults != nil) {
		return nil, invalidParam("imageIds", "imageIds cannot be specified together with nextToken or maxResults")
	}
	pv, err := s.core.GetLifecyclePreview(ctx, in.RepositoryName)
	if err != nil {
		return nil, lifecycleError(err)
	}
	out := &getPreviewOutput{RegistryID: s.opts.AccountID, RepositoryName: pv.Repository,
		LifecyclePolicyText: pv.PolicyText, Status: pv.Status, PreviewResults: []previewResultJSON{}}
	if pv.Status != meta.PreviewComplete {
		return out, nil
	}
	sum := &previewSummaryJSON{ExpiringImageTotalCount: pv.Summary.ExpiringImageTotalCount}
	for _, t := range pv.Summary.TransitioningImageTotalCounts {
		sum.TransitioningImageTotalCounts = append(sum.TransitioningImageTotalCounts,
			transitionCountJSON{TargetStorageClass: t.TargetStorageClass, ImageTotalCount: t.ImageTotalCount})
	}
	out.Summary = sum

	tagStatus := ""
	if in.Filter != nil && in.Filter.TagStatus != nil {
		tagStatus = *in.Filter.TagStatus
	}
	results, ok := lifecycle.FilterPreview(pv.Results, tagStatus)
	if !ok {
		return nil, invalidParam("filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
	}
	if len(in.ImageIDs) > 0 {
		results = previewForImages(results, in.ImageIDs)
	}
	start, err := previewStart(results, in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultPreviewPageSize
	if in.MaxResults != nil && *in.MaxResults > 0 {
		limit = int(*in.MaxResults)
	}
	end := min(start+limit, len(results))
	for _, r := range results[start:end] {
		out.PreviewResults = append(out.PreviewResults, previewResultJSON{
			ImageTags: r.ImageTags, ImageDigest: r.ImageDigest.String(), ImagePushedAt: EpochTime(r.ImagePushedAt),
			Action:              ruleActionJSON{Type: r.Action.Type, TargetStorageClass: r.Action.TargetStorageClass},
			AppliedRulePriority: r.AppliedRulePriority, StorageClass: r.StorageClass,
		})
	}
	if end < len(results) && len(in.ImageIDs) == 0 {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(results[end-1].ImageDigest))
	}
	return out, nil
}

// previewForImages keeps the results naming one of ids (by digest or tag).
func previewForImages(results []lifecycle.PreviewResult, ids []imageIdentifier) []lifecycle.PreviewResult {
	var out []lifecycle.PreviewResult
	for _, r := range results {
		for _, id := range ids {
			if id.ImageDigest == r.ImageDigest.String() || id.ImageTag != "" && slices.Contains(r.ImageTags, id.ImageTag) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// previewStart returns the index a page token continues at: after the
// digest it names.
func previewStart(results []lifecycle.PreviewResult, token *string) (int, error) {
	if token == nil || *token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil {
		return 0, invalidNextToken()
	}
	d, err := digest.Parse(string(b))
	if err != nil {
		return 0, invalidNextToken()
	}
	for i, r := range results {
		if r.ImageDigest == d {
			return i + 1, nil
		}
	}
	return 0, invalidNextToken()
}

// ---- storage class ----

type updateStorageClassInput struct {
	RegistryID         *string         `json:"registryId"`
	RepositoryName     string          `json:"repositoryName"`
	ImageID            imageIdentifier `json:"imageId"`
	TargetStorageClass string          `json:"targetStorageClass"`
}

type updateStorageClassOutput struct {
	RegistryID     string          `json:"registryId"`
	RepositoryName string          `json:"repositoryName"`
	ImageID        imageIdentifier `json:"imageId"`
	ImageStatus    string          `json:"imageStatus"`
}

func (s *Service) updateImageStorageClass(ctx context.Context, req *Request) (any, error) {
	var in updateStorageClassInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	rid, err := imageIDParam("imageId", in.ImageID)
	if err != nil {
		return nil, err
	}
	img, st, err := s.core.UpdateImageStorageClass(ctx, in.RepositoryName, rid, in.TargetStorageClass)
	if registry.KindOf(err) == registry.KindManifestUnknown {
		return nil, s.imageNotFound(in.RepositoryName, in.ImageID)
	}
	if err != nil {
		return nil, lifecycleError(err)
	}
	return &updateStorageClassOutput{RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName,
		ImageID:     imageIdentifier{ImageDigest: img.Digest.String(), ImageTag: in.ImageID.ImageTag},
		ImageStatus: st.Status}, nil
}

// ---- pull-time update exclusions ----

type exclusionInput struct {
	PrincipalArn string `json:"principalArn"`
}

type registerExclusionOutput struct {
	PrincipalArn string    `json:"principalArn"`
	CreatedAt    EpochTime `json:"createdAt"`
}

func (s *Service) registerPullTimeUpdateExclusion(ctx context.Context, req *Request) (any, error) {
	var in exclusionInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	e, err := s.core.RegisterPullTimeUpdateExclusion(ctx, in.PrincipalArn)
	if err != nil {
		return nil, lifecycleError(err)
	}
	return &registerExclusionOutput{PrincipalArn: e.PrincipalARN, CreatedAt: EpochTime(e.CreatedAt)}, nil
}

func (s *Service) deregisterPullTimeUpdateExclusion(ctx context.Context, req *Request) (any, error) {
	var in exclusionInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.core.DeregisterPullTimeUpdateExclusion(ctx, in.PrincipalArn); err != nil {
		return nil, lifecycleError(err)
	}
	return &exclusionInput{PrincipalArn: in.PrincipalArn}, nil
}

type listExclusionsInput struct {
	NextToken  *string `json:"nextToken"`
	MaxResults *int32  `json:"maxResults"`
}

type listExclusionsOutput struct {
	PullTimeUpdateExclusions []string `json:"pullTimeUpdateExclusions"`
	NextToken                string   `json:"nextToken,omitempty"`
}

func (s *Service) listPullTimeUpdateExclusions(ctx context.Context, req *Request) (any, error) {
	var in listExclusionsInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	after := ""
	if in.NextToken != nil && *in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil {
			return nil, invalidNextToken()
		}
		after = string(b)
	}
	limit := 100
	if in.MaxResults != nil && *in.MaxResults > 0 {
		limit = int(*in.MaxResults)
	}
	arns, next, err := s.core.ListPullTimeUpdateExclusions(ctx, after, limit)
	if err != nil {
		return nil, lifecycleError(err)
	}
	out := &listExclusionsOutput{PullTimeUpdateExclusions: arns}
	if out.PullTimeUpdateExclusions == nil {
		out.PullTimeUpdateExclusions = []string{}
	}
	if next != "" {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return out, nil
}

// ---- image status in DescribeImages and BatchGetImage ----

// setImageState fills an ImageDetail's archive members from a stored state
// (a zero state is ACTIVE).
func setImageState(d *imageDetail, st registry.ImageState) {
	if st.Status != "" {
		d.ImageStatus = st.Status
	}
	if st.LastArchivedAt != nil {
		d.LastArchivedAt = EpochTime(*st.LastArchivedAt)
	}
	if st.LastActivatedAt != nil {
		d.LastActivatedAt = EpochTime(*st.LastActivatedAt)
	}
}

// statusMatches reports whether the filter's imageStatus admits status.
func (f *imageFilter) statusMatches(status string) bool {
	return f == nil || f.ImageStatus == nil || *f.ImageStatus == "ANY" || *f.ImageStatus == status
}

// principalARN is the caller's ARN, empty when unknown.
func principalARN(req *Request) string {
	if req == nil || req.Principal == nil {
		return ""
	}
	return req.Principal.ARN
}

// statusFilter returns a predicate admitting the digests whose image status
// the filter's imageStatus matches (every digest when it sets none).
func (s *Service) statusFilter(ctx context.Context, repo string, f *imageFilter) (func(digest.Digest) bool, error) {
	if f == nil || f.ImageStatus == nil || *f.ImageStatus == "ANY" {
		return func(digest.Digest) bool { return true }, nil
	}
	states, err := s.core.ImageStates(ctx, repo)
	if err != nil {
		return nil, coreError(err)
	}
	return func(d digest.Digest) bool {
		status := states[d].Status
		if status == "" {
			status = meta.ImageStatusActive
		}
		return f.statusMatches(status)
	}, nil
}
