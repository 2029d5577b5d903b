package lifecycle

import (
	"cmp"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
)

// ImageStorageClass is the state of an image as ECR reports it (imageStatus).
type ImageStorageClass string

// Image states. The zero value counts as ImageActive.
const (
	ImageActive     ImageStorageClass = "ACTIVE"
	ImageArchived   ImageStorageClass = "ARCHIVED"
	ImageActivating ImageStorageClass = "ACTIVATING" // being restored; no rule touches it
)

// Image is what evaluation needs to know about one image (manifest) of the
// repository. Evaluate must be given every image of the repository: counts,
// manifest-list protection and referrers are judged against that set.
type Image struct {
	Digest   digest.Digest
	Tags     []string
	PushedAt time.Time
	// LastPulledAt is nil when the image was never pulled; sinceImagePulled
	// then measures from the push, as ECR does.
	LastPulledAt *time.Time
	// LastActivatedAt is when the image was last restored from the archive;
	// ECR then measures push age and pull age from the restore.
	LastActivatedAt *time.Time
	// LastTransitionedAt is when the image was archived (sinceImageTransitioned).
	LastTransitionedAt *time.Time
	StorageClass       ImageStorageClass
	// ReferencedByIndexes are the manifest lists / indexes in the repository
	// that reference this image.
	ReferencedByIndexes []digest.Digest
	// Subject is the image this one refers to (OCI referrers), if any.
	Subject digest.Digest
}

// Result is one action the policy takes on one image.
type Result struct {
	Digest       digest.Digest
	Tags         []string
	PushedAt     time.Time
	StorageClass ImageStorageClass // the image's state before the action
	Action       ActionType
	// TargetStorageClass is StorageArchive for ActionTransition.
	TargetStorageClass StorageClass
	// RulePriority is the rule that acts on the image; for a referrer that
	// follows its subject, the rule that acts on the subject.
	RulePriority int
	// FollowsSubject is set when the image is acted on because its subject is.
	FollowsSubject digest.Digest
}

// Evaluate applies a policy to the images of one repository at time now and
// returns what to do, ordered by rule priority, then oldest image first.
//
// The semantics are ECR's:
//   - Every rule identifies its images against the whole repository at once;
//     then rules are applied by priority, lowest number first.
//   - An image is acted on by at most one rule. An image that matches a rule's
//     selection filter (storage class and tags) cannot be acted on by a rule of
//     lower priority, even when the first rule keeps it. Images acted on by a
//     higher-priority rule still count for lower rules' imageCountMoreThan.
//   - imageCountMoreThan keeps the newest countNumber images by push time;
//     the since* types act on images at least countNumber whole days old.
//   - An image referenced by a manifest list is not acted on while the list
//     stays (neither expired nor archived, now or before).
//   - Referrers follow their subject: expired with it, or archived with it.
func Evaluate(p *Policy, images []Image, now time.Time) []Result {
	if p == nil || len(images) == 0 {
		return nil
	}
	ev := newEvaluation(images)
	decided := ev.applyRules(p.Rules, now)
	return ev.results(ev.settle(decided))
}

type decision struct {
	action   ActionType
	target   StorageClass
	priority int
	follows  digest.Digest
}

type evaluation struct {
	images    []*Image // first occurrence of each digest, in input order
	byDigest  map[digest.Digest]*Image
	referrers map[digest.Digest][]digest.Digest // subject -> referrers
}

func newEvaluation(images []Image) *evaluation {
	ev := &evaluation{
		images:    make([]*Image, 0, len(images)),
		byDigest:  make(map[digest.Digest]*Image, len(images)),
		referrers: make(map[digest.Digest][]digest.Digest),
	}
	for i := range images {
		img := &images[i]
		if _, dup := ev.byDigest[img.Digest]; dup {
			continue
		}
		ev.byDigest[img.Digest] = img
		ev.images = append(ev.images, img)
		if img.Subject != "" && img.Subject != img.Digest {
			ev.referrers[img.Subject] = append(ev.referrers[img.Subject], img.Digest)
		}
	}
	return ev
}

// applyRules decides, rule by rule in priority order, which rule acts on which
// image.
func (ev *evaluation) applyRules(rules []Rule, now time.Time) map[digest.Digest]decision {
	claimed := make(map[digest.Digest]bool)
	decided := make(map[digest.Digest]decision)
	for i := range rules {
		r := &rules[i]
		matched := ev.match(r)
		for _, img := range r.identify(matched, now) {
			if !claimed[img.Digest] {
				decided[img.Digest] = decision{action: r.Action, target: r.TargetStorageClass, priority: r.Priority}
			}
		}
		for _, img := range matched {
			claimed[img.Digest] = true
		}
	}
	return decided
}

// match returns the images that meet the rule's selection filter: its
// storage class and its tag requirements.
func (ev *evaluation) match(r *Rule) []*Image {
	want := ImageActive
	if r.StorageClass == StorageArchive {
		want = ImageArchived
	}
	var out []*Image
	for _, img := range ev.images {
		if img.class() == want && r.matchesTags(img.Tags) {
			out = append(out, img)
		}
	}
	return out
}

// identify applies the rule's count criterion to the images its filter matched.
func (r *Rule) identify(matched []*Image, now time.Time) []*Image {
	if r.CountType == CountImageCountMoreThan {
		if len(matched) <= r.CountNumber {
			return nil
		}
		sorted := slices.Clone(matched)
		slices.SortFunc(sorted, func(a, b *Image) int {
			return cmp.Or(b.pushRef().Compare(a.pushRef()), cmp.Compare(a.Digest, b.Digest))
		})
		return sorted[r.CountNumber:]
	}
	var out []*Image
	for _, img := range matched {
		var ref time.Time
		switch r.CountType {
		case CountSinceImagePushed:
			ref = img.pushRef()
		case CountSinceImagePulled:
			ref = img.pullRef()
		case CountSinceImageTransitioned:
			if img.LastTransitionedAt == nil {
				continue // no archive time recorded: never old enough
			}
			ref = *img.LastTransitionedAt
		default:
			continue
		}
		if olderThanDays(ref, now, r.CountNumber) {
			out = append(out, img)
		}
	}
	return out
}

// olderThanDays reports whether at least n whole days have passed from t to now.
func olderThanDays(t, now time.Time, n int) bool {
	if t.After(now) {
		return false
	}
	return int64(now.Sub(t)/(24*time.Hour)) >= int64(n)
}

func (img *Image) class() ImageStorageClass {
	if img.StorageClass == "" {
		return ImageActive
	}
	return img.StorageClass
}

// pushRef is the time push age is measured from: the push, or the last
// restore from the archive when later.
func (img *Image) pushRef() time.Time {
	t := img.PushedAt
	if img.LastActivatedAt != nil && img.LastActivatedAt.After(t) {
		t = *img.LastActivatedAt
	}
	return t
}

// pullRef is the time pull age is measured from: the last pull, or the push or
// restore when the image was not pulled since.
func (img *Image) pullRef() time.Time {
	t := img.pushRef()
	if img.LastPulledAt != nil && img.LastPulledAt.After(t) {
		t = *img.LastPulledAt
	}
	return t
}

// settle adds the referrers that follow their subjects and withholds actions
// on images that a live manifest list references, until both agree.
// Withholding only ever grows, so the loop ends after at most len(images)
// rounds.
func (ev *evaluation) settle(decided map[digest.Digest]decision) map[digest.Digest]decision {
	blocked := make(map[digest.Digest]bool)
	for {
		acts := ev.propagate(decided, blocked)
		changed := false
		for d := range acts {
			if ev.hasLiveParent(d, acts) {
				blocked[d] = true
				changed = true
			}
		}
		if !changed {
			return acts
		}
	}
}

// propagate returns the decided actions that are not blocked plus the
// actions referrers inherit from their subjects: expire when the subject is
// expired, transition when it is archived.
func (ev *evaluation) propagate(decided map[digest.Digest]decision, blocked map[digest.Digest]bool) map[digest.Digest]decision {
	acts := make(map[digest.Digest]decision, len(decided))
	queue := make([]digest.Digest, 0, len(decided))
	for d, dec := range decided {
		if !blocked[d] {
			acts[d] = dec
			queue = append(queue, d)
		}
	}
	// Each image's action changes at most twice (none, transition, expire),
	// so the queue is bounded.
	for i := 0; i < len(queue); i++ {
		subject := acts[queue[i]]
		for _, ref := range ev.referrers[queue[i]] {
			if blocked[ref] {
				continue
			}
			cur, has := acts[ref]
			next := decision{action: subject.action, target: subject.target, priority: subject.priority, follows: queue[i]}
			switch subject.action {
			case ActionExpire:
				if has && cur.action == ActionExpire {
					continue
				}
			case ActionTransition:
				if has || ev.byDigest[ref].class() != ImageActive {
					continue
				}
			}
			acts[ref] = next
			queue = append(queue, ref)
		}
	}
	return acts
}

// hasLiveParent reports whether a manifest list that references the image
// stays in the repository, unarchived, after acts.
func (ev *evaluation) hasLiveParent(d digest.Digest, acts map[digest.Digest]decision) bool {
	for _, p := range ev.byDigest[d].ReferencedByIndexes {
		parent, ok := ev.byDigest[p]
		if !ok || p == d || parent.class() == ImageArchived {
			continue
		}
		if _, acted := acts[p]; acted {
			continue
		}
		return true
	}
	return false
}

func (ev *evaluation) results(acts map[digest.Digest]decision) []Result {
	if len(acts) == 0 {
		return nil
	}
	out := make([]Result, 0, len(acts))
	for d, dec := range acts {
		img := ev.byDigest[d]
		out = append(out, Result{
			Digest:             d,
			Tags:               slices.Clone(img.Tags),
			PushedAt:           img.PushedAt,
			StorageClass:       img.class(),
			Action:             dec.action,
			TargetStorageClass: dec.target,
			RulePriority:       dec.priority,
			FollowsSubject:     dec.follows,
		})
	}
	slices.SortFunc(out, func(a, b Result) int {
		return cmp.Or(
			cmp.Compare(a.RulePriority, b.RulePriority),
			a.PushedAt.Compare(b.PushedAt),
			cmp.Compare(a.Digest, b.Digest),
		)
	})
	return out
}
