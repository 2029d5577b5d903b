package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/lifecycle"
	"github.com/berth-registry/berth/internal/meta"
)

// Lifecycle error kinds. They are numbered apart from errors.go's so that
// features can add kinds without editing one shared list; the ECR adapter
// maps them in lifecycleops.go.
const (
	KindLifecyclePolicyNotFound    Kind = 200 + iota // repository has no lifecycle policy
	KindLifecyclePreviewNotFound                     // no preview was started
	KindLifecyclePreviewInProgress                   // a preview is already running
	KindExclusionExists                              // pull-time exclusion already registered
	KindExclusionNotFound                            // pull-time exclusion not registered
)

// Storage classes of UpdateImageStorageClass (ECR's TargetStorageClass).
const (
	StorageClassStandard = "STANDARD"
	StorageClassArchive  = "ARCHIVE"
)

const (
	// previewStaleAfter is how long an IN_PROGRESS preview may go without an
	// update before another start may replace it (its node died).
	previewStaleAfter = 10 * time.Minute
	// previewTimeout bounds one preview's evaluation.
	previewTimeout = 5 * time.Minute
	// lifecycleLeaseTTL bounds how long one repository's evaluation may hold
	// its lease; a node that dies mid-run frees it after this long.
	lifecycleLeaseTTL = 15 * time.Minute
	// exclusionsRefresh is how stale this node's copy of the pull-time
	// exclusions may become before a background refresh (other nodes'
	// changes; this node's own changes apply at once).
	exclusionsRefresh = 30 * time.Second
)

// lifecycleState is the core's per-process lifecycle state.
type lifecycleState struct {
	// holder names this process in leases.
	holder string
	// previews tracks background work: previews and restores
	// (WaitLifecyclePreviews).
	previews sync.WaitGroup

	mu         sync.Mutex
	excluded   map[string]bool // principal ARNs excluded from pull-time updates
	loadedAt   time.Time       // zero: never loaded
	refreshing bool
}

func newLifecycleState() *lifecycleState {
	return &lifecycleState{holder: NewLeaseHolder()}
}

// NewLeaseHolder returns a name for a lease holder unique to this process
// and call: host, pid and random bits.
func NewLeaseHolder() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// lcState returns the lifecycle state, creating it for a Registry built
// without New.
func (r *Registry) lcState() *lifecycleState {
	if r.lc == nil {
		r.lc = newLifecycleState()
	}
	return r.lc
}

// ---- Policies ----

// LifecyclePolicy is a repository's lifecycle policy.
type LifecyclePolicy = meta.LifecyclePolicy

// policyError turns the engine's validation failure into a core error; the
// *lifecycle.Error stays reachable with errors.As for its wire code.
func policyError(err error) error {
	var le *lifecycle.Error
	if errors.As(err, &le) {
		return &Error{Kind: KindInvalidParameter, Message: le.Message, Err: le}
	}
	return Errorf(KindInvalidParameter, "%v", err)
}

func (r *Registry) policyMissing(repo string) error {
	return Errorf(KindLifecyclePolicyNotFound, "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", repo, r.cfg.RegistryID)
}

// PutLifecyclePolicy validates text with ECR's rules and stores it as repo's
// lifecycle policy, replacing any previous one.
func (r *Registry) PutLifecyclePolicy(ctx context.Context, repo, text string) (*LifecyclePolicy, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	if err := lifecycle.Validate(text); err != nil {
		return nil, policyError(err)
	}
	p := &meta.LifecyclePolicy{Repository: repo, Text: text, UpdatedAt: r.now()}
	if err := r.meta.PutLifecyclePolicy(ctx, p); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return nil, r.repoErr(err, repo)
		}
		return nil, internal(err, "put lifecycle policy of %s", repo)
	}
	r.log.InfoContext(ctx, "lifecycle policy put", "audit", true, "repository", repo)
	return p, nil
}

// GetLifecyclePolicy returns repo's lifecycle policy.
func (r *Registry) GetLifecyclePolicy(ctx context.Context, repo string) (*LifecyclePolicy, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	p, err := r.meta.GetLifecyclePolicy(ctx, repo)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, r.policyMissing(repo)
	}
	if err != nil {
		return nil, internal(err, "get lifecycle policy of %s", repo)
	}
	return p, nil
}

// DeleteLifecyclePolicy deletes repo's lifecycle policy and returns it.
func (r *Registry) DeleteLifecyclePolicy(ctx context.Context, repo string) (*LifecyclePolicy, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	var deleted *LifecyclePolicy
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		p, err := q.GetLifecyclePolicy(ctx, repo)
		if errors.Is(err, meta.ErrNotFound) {
			return r.policyMissing(repo)
		}
		if err != nil {
			return internal(err, "get lifecycle policy of %s", repo)
		}
		if err := q.DeleteLifecyclePolicy(ctx, repo); err != nil {
			return internal(err, "delete lifecycle policy of %s", repo)
		}
		deleted = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.log.InfoContext(ctx, "lifecycle policy deleted", "audit", true, "repository", repo)
	return deleted, nil
}

// ---- Evaluation input ----

// lifecycleImages returns every image of repo as the engine needs it, with
// manifests keyed by digest for applying the results. Restores that were
// under way are completed first (the bytes never left).
func (r *Registry) lifecycleImages(ctx context.Context, repo string) ([]lifecycle.Image, error) {
	states, err := r.imageStates(ctx, repo)
	if err != nil {
		return nil, err
	}
	for d, st := range states {
		if st.Status == meta.ImageStatusActivating {
			if st, err = r.completeActivation(ctx, repo, d); err != nil {
				return nil, err
			}
			states[d] = st
		}
	}
	var images []lifecycle.Image
	var after digest.Digest
	const page = 500
	for {
		batch, err := r.meta.ListManifests(ctx, repo, after, page)
		if err != nil {
			return nil, internal(err, "list images of %s", repo)
		}
		var tagsOf map[digest.Digest][]string
		var parentsOf map[digest.Digest][]digest.Digest
		if len(batch) > 0 {
			// The batch is in digest order: one query fetches all its tags,
			// one all its parents.
			first, last := batch[0].Digest, batch[len(batch)-1].Digest
			if tagsOf, err = r.meta.TagsInRange(ctx, repo, first, last); err != nil {
				return nil, internal(err, "list tags of %s", repo)
			}
			if parentsOf, err = r.meta.ManifestParentsInRange(ctx, repo, first, last); err != nil {
				return nil, internal(err, "find parents in %s", repo)
			}
		}
		for i := range batch {
			m := &batch[i]
			after = m.Digest
			img := lifecycle.Image{
				Digest: m.Digest, Tags: tagsOf[m.Digest], PushedAt: m.PushedAt, LastPulledAt: m.LastPulledAt,
				StorageClass: lifecycle.ImageActive, ReferencedByIndexes: parentsOf[m.Digest], Subject: m.Subject,
			}
			if st, ok := states[m.Digest]; ok {
				img.StorageClass = engineClass(st.Status)
				img.LastActivatedAt = st.LastActivatedAt
				if st.Status == meta.ImageStatusArchived {
					img.LastTransitionedAt = st.LastArchivedAt
				}
			}
			images = append(images, img)
		}
		if len(batch) < page {
			return images, nil
		}
	}
}

func engineClass(status string) lifecycle.ImageStorageClass {
	switch status {
	case meta.ImageStatusArchived:
		return lifecycle.ImageArchived
	case meta.ImageStatusActivating:
		return lifecycle.ImageActivating
	}
	return lifecycle.ImageActive
}

func (r *Registry) imageStates(ctx context.Context, repo string) (map[digest.Digest]meta.ImageState, error) {
	list, err := r.meta.ListImageStates(ctx, repo)
	if err != nil {
		return nil, internal(err, "list image states of %s", repo)
	}
	out := make(map[digest.Digest]meta.ImageState, len(list))
	for _, st := range list {
		out[st.Digest] = st
	}
	return out, nil
}

// evaluate parses text and evaluates it against repo's images now.
func (r *Registry) evaluate(ctx context.Context, repo, text string) ([]lifecycle.Result, time.Time, error) {
	p, err := lifecycle.Parse(text)
	if err != nil {
		return nil, time.Time{}, policyError(err)
	}
	images, err := r.lifecycleImages(ctx, repo)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := r.now()
	return lifecycle.Evaluate(p, images, now), now, nil
}

// ---- Previews ----

// LifecyclePreview is a repository's latest lifecycle policy preview.
type LifecyclePreview struct {
	Repository string
	PolicyText string
	Status     string // meta.PreviewInProgress, PreviewComplete or PreviewFailed
	Results    []lifecycle.PreviewResult
	Summary    lifecycle.PreviewSummary
}

// previewDoc is what a finished preview stores (meta.LifecyclePreview.Results).
type previewDoc struct {
	Results []lifecycle.PreviewResult `json:"results"`
	Summary lifecycle.PreviewSummary  `json:"summary"`
	Error   string                    `json:"error,omitempty"`
}

// StartLifecyclePreview starts evaluating text (or, when text is empty, the
// repository's current policy) in the background. One preview runs at a time
// per repository.
func (r *Registry) StartLifecyclePreview(ctx context.Context, repo, text string) (*LifecyclePreview, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	if text == "" {
		p, err := r.GetLifecyclePolicy(ctx, repo)
		if err != nil {
			return nil, err
		}
		text = p.Text
	} else if err := lifecycle.Validate(text); err != nil {
		return nil, policyError(err)
	}
	now := r.now()
	pv := &meta.LifecyclePreview{Repository: repo, Status: meta.PreviewInProgress, PolicyText: text, StartedAt: now, UpdatedAt: now}
	err := r.meta.StartLifecyclePreview(ctx, pv, now.Add(-previewStaleAfter))
	switch {
	case errors.Is(err, meta.ErrExists):
		return nil, Errorf(KindLifecyclePreviewInProgress, "Lifecycle policy preview is already in progress for the repository with name '%s' in the registry with id '%s'", repo, r.cfg.RegistryID)
	case errors.Is(err, meta.ErrNotFound):
		return nil, r.repoErr(err, repo)
	case err != nil:
		return nil, internal(err, "start lifecycle preview of %s", repo)
	}
	st := r.lcState()
	st.previews.Add(1)
	go func() {
		defer st.previews.Done()
		r.runPreview(context.WithoutCancel(ctx), pv)
	}()
	return &LifecyclePreview{Repository: repo, PolicyText: text, Status: meta.PreviewInProgress}, nil
}

// runPreview evaluates a started preview and stores its outcome.
func (r *Registry) runPreview(ctx context.Context, pv *meta.LifecyclePreview) {
	ctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	var doc previewDoc
	status := meta.PreviewComplete
	results, _, err := r.evaluate(ctx, pv.Repository, pv.PolicyText)
	if err != nil {
		status = meta.PreviewFailed
		doc.Error = err.Error()
		r.log.WarnContext(ctx, "lifecycle preview failed", "repository", pv.Repository, "error", err)
	} else {
		doc.Results = lifecycle.Preview(results)
		doc.Summary = lifecycle.Summarize(results)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		status, b = meta.PreviewFailed, nil
	}
	done := *pv
	done.Status, done.Results, done.UpdatedAt = status, b, r.now()
	if err := r.meta.FinishLifecyclePreview(ctx, &done); err != nil && !errors.Is(err, meta.ErrNotFound) {
		r.log.ErrorContext(ctx, "store lifecycle preview", "repository", pv.Repository, "error", err)
	}
}

// WaitLifecyclePreviews waits for the previews and restores this process
// started.
func (r *Registry) WaitLifecyclePreviews() { r.lcState().previews.Wait() }

// GetLifecyclePreview returns repo's latest preview.
func (r *Registry) GetLifecyclePreview(ctx context.Context, repo string) (*LifecyclePreview, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	pv, err := r.meta.GetLifecyclePreview(ctx, repo)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, Errorf(KindLifecyclePreviewNotFound, "Lifecycle policy preview does not exist for the repository with name '%s' in the registry with id '%s'", repo, r.cfg.RegistryID)
	}
	if err != nil {
		return nil, internal(err, "get lifecycle preview of %s", repo)
	}
	out := &LifecyclePreview{Repository: repo, PolicyText: pv.PolicyText, Status: pv.Status}
	if len(pv.Results) > 0 {
		var doc previewDoc
		if err := json.Unmarshal(pv.Results, &doc); err != nil {
			return nil, internal(err, "decode lifecycle preview of %s", repo)
		}
		out.Results, out.Summary = doc.Results, doc.Summary
	}
	return out, nil
}

// ---- Execution ----

// LifecycleAction is one action a policy run took.
type LifecycleAction struct {
	Digest       digest.Digest
	Tags         []string
	Action       lifecycle.ActionType
	RulePriority int
	// Err is set when the action could not be applied (the image changed
	// or is still referenced); the next run tries again.
	Err error
}

// LifecycleRun reports one evaluation of a repository's policy.
type LifecycleRun struct {
	Repository string
	// Skipped is set when another node held the repository's lease.
	Skipped     bool
	EvaluatedAt time.Time
	Actions     []LifecycleAction
}

// RunLifecycle evaluates repo's lifecycle policy now and applies it, unless
// another process is evaluating it (then Skipped).
func (r *Registry) RunLifecycle(ctx context.Context, repo string) (*LifecycleRun, error) {
	return r.RunLifecycleAs(ctx, repo, r.lcState().holder)
}

// RunLifecycleAs is RunLifecycle holding the repository's lease as holder.
func (r *Registry) RunLifecycleAs(ctx context.Context, repo, holder string) (*LifecycleRun, error) {
	policy, err := r.GetLifecyclePolicy(ctx, repo)
	if err != nil {
		return nil, err
	}
	lease := "lifecycle/" + repo
	now := r.now()
	ok, err := r.meta.AcquireLease(ctx, lease, holder, now, now.Add(lifecycleLeaseTTL))
	if err != nil && !errors.Is(err, meta.ErrConflict) {
		return nil, internal(err, "acquire lease %s", lease)
	}
	run := &LifecycleRun{Repository: repo}
	if !ok {
		run.Skipped = true
		return run, nil
	}
	defer func() {
		if err := r.meta.ReleaseLease(context.WithoutCancel(ctx), lease, holder); err != nil {
			r.log.WarnContext(ctx, "release lifecycle lease", "repository", repo, "error", err)
		}
	}()
	results, at, err := r.evaluate(ctx, repo, policy.Text)
	if err != nil {
		return nil, err
	}
	run.EvaluatedAt = at
	run.Actions = r.applyLifecycle(ctx, repo, results)
	if err := r.meta.SetLifecycleEvaluated(ctx, repo, at); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return run, internal(err, "record lifecycle evaluation of %s", repo)
	}
	return run, nil
}

// applyLifecycle applies evaluation results. Expiring an index frees its
// children, so expirations that a list still blocks are retried after the
// others until nothing more can be done.
func (r *Registry) applyLifecycle(ctx context.Context, repo string, results []lifecycle.Result) []LifecycleAction {
	actions := make([]LifecycleAction, len(results))
	var pending []int
	for i, res := range results {
		actions[i] = LifecycleAction{Digest: res.Digest, Tags: res.Tags, Action: res.Action, RulePriority: res.RulePriority}
		if res.Action == lifecycle.ActionTransition {
			_, err := r.setStorageClass(ctx, repo, res.Digest, StorageClassArchive)
			r.audit(ctx, repo, &actions[i], err)
			continue
		}
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		var blocked []int
		for _, i := range pending {
			_, err := r.DeleteImage(ctx, repo, ImageID{Digest: actions[i].Digest})
			if KindOf(err) == KindReferencedByIndex {
				actions[i].Err = err
				blocked = append(blocked, i)
				continue
			}
			r.audit(ctx, repo, &actions[i], err)
		}
		if len(blocked) == len(pending) {
			for _, i := range blocked {
				r.audit(ctx, repo, &actions[i], actions[i].Err)
			}
			break
		}
		pending = blocked
	}
	return actions
}

// audit logs one lifecycle action as an audit event.
func (r *Registry) audit(ctx context.Context, repo string, a *LifecycleAction, err error) {
	a.Err = err
	action := lifecycle.WireActionExpire
	if a.Action == lifecycle.ActionTransition {
		action = lifecycle.WireActionTransition
	}
	attrs := []any{"audit", true, "event", "LifecyclePolicyAction", "repository", repo,
		"image_digest", a.Digest.String(), "image_tags", a.Tags, "action", action, "rule_priority", a.RulePriority}
	if err != nil {
		r.log.WarnContext(ctx, "lifecycle action failed", append(attrs, "error", err)...)
		return
	}
	r.log.InfoContext(ctx, "lifecycle action", attrs...)
}

// LifecycleRepositories lists the repositories that have a lifecycle
// policy, in name order after the given name; limit <= 0 means all.
func (r *Registry) LifecycleRepositories(ctx context.Context, after string, limit int) ([]string, error) {
	ps, err := r.meta.ListLifecyclePolicies(ctx, after, limit)
	if err != nil {
		return nil, internal(err, "list lifecycle policies")
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Repository
	}
	return out, nil
}

// AcquireLease takes or renews a named lease in the metadata store for
// holder until now+ttl; it reports false when another holder has it.
func (r *Registry) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := r.now()
	ok, err := r.meta.AcquireLease(ctx, name, holder, now, now.Add(ttl))
	if errors.Is(err, meta.ErrConflict) {
		return false, nil // another node won the race
	}
	if err != nil {
		return false, internal(err, "acquire lease %s", name)
	}
	return ok, nil
}

// ---- Archive storage class ----

// ImageState is an image's storage state; the zero Status means ACTIVE.
type ImageState = meta.ImageState

// ImageState returns the storage state of a manifest (ACTIVE when it was
// never archived).
func (r *Registry) ImageState(ctx context.Context, repo string, dgst digest.Digest) (ImageState, error) {
	st, err := r.meta.GetImageState(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return ImageState{Repository: repo, Digest: dgst, Status: meta.ImageStatusActive}, nil
	}
	if err != nil {
		return ImageState{}, internal(err, "get image state of %s", dgst)
	}
	return *st, nil
}

// checkPullable refuses a manifest that is archived or still being restored.
func (r *Registry) checkPullable(ctx context.Context, repo string, dgst digest.Digest) error {
	st, err := r.ImageState(ctx, repo, dgst)
	if err != nil {
		return err
	}
	switch st.Status {
	case meta.ImageStatusArchived:
		return &Error{Kind: KindManifestUnknown, Message: fmt.Sprintf("manifest %s in repository %s is archived; restore it with UpdateImageStorageClass (targetStorageClass STANDARD) before pulling it", dgst, repo), Detail: map[string]string{"digest": dgst.String(), "imageStatus": st.Status}}
	case meta.ImageStatusActivating:
		return &Error{Kind: KindManifestUnknown, Message: fmt.Sprintf("manifest %s in repository %s is being restored from the archive; pull it when its imageStatus is ACTIVE", dgst, repo), Detail: map[string]string{"digest": dgst.String(), "imageStatus": st.Status}}
	}
	return nil
}

// UpdateImageStorageClass moves an image to the ARCHIVE storage class or
// restores it to STANDARD (ACTIVATING, then ACTIVE once restored). It
// returns the image's new state.
func (r *Registry) UpdateImageStorageClass(ctx context.Context, repo string, id ImageID, target string) (*Image, ImageState, error) {
	if target != StorageClassArchive && target != StorageClassStandard {
		return nil, ImageState{}, Errorf(KindInvalidParameter, "Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'")
	}
	img, err := r.FindImage(ctx, repo, id)
	if err != nil {
		return nil, ImageState{}, err
	}
	st, err := r.setStorageClass(ctx, repo, img.Digest, target)
	if err != nil {
		return nil, ImageState{}, err
	}
	if st.Status == meta.ImageStatusActivating {
		// The bytes never left: the restore completes in the background, so
		// callers see ACTIVATING, then ACTIVE.
		done := r.lcState()
		done.previews.Add(1)
		go func() {
			defer done.previews.Done()
			if _, err := r.completeActivation(context.WithoutCancel(ctx), repo, img.Digest); err != nil {
				r.log.ErrorContext(ctx, "complete image restore", "repository", repo, "digest", img.Digest, "error", err)
			}
		}()
	}
	return img, st, nil
}

// setStorageClass records a storage class change of an existing manifest.
func (r *Registry) setStorageClass(ctx context.Context, repo string, dgst digest.Digest, target string) (ImageState, error) {
	var out ImageState
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		cur, err := q.GetImageState(ctx, repo, dgst)
		if errors.Is(err, meta.ErrNotFound) {
			cur = &meta.ImageState{Repository: repo, Digest: dgst, Status: meta.ImageStatusActive}
		} else if err != nil {
			return internal(err, "get image state of %s", dgst)
		}
		next := *cur
		now := r.now()
		switch {
		case target == StorageClassArchive && cur.Status != meta.ImageStatusArchived:
			next.Status, next.LastArchivedAt = meta.ImageStatusArchived, &now
		case target == StorageClassStandard && cur.Status == meta.ImageStatusArchived:
			next.Status = meta.ImageStatusActivating
		default:
			out = *cur // already there (or already being restored)
			return nil
		}
		if err := q.SetImageState(ctx, &next); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return r.imageMiss(ctx, repo, ImageID{Digest: dgst})
			}
			return internal(err, "set image state of %s", dgst)
		}
		out = next
		return nil
	})
	if err != nil {
		return ImageState{}, err
	}
	r.cache.forgetManifest(repo, dgst)
	r.log.InfoContext(ctx, "image storage class changed", "audit", true, "repository", repo,
		"image_digest", dgst.String(), "image_status", out.Status)
	return out, nil
}

// completeActivation finishes a restore: ACTIVATING becomes ACTIVE.
func (r *Registry) completeActivation(ctx context.Context, repo string, dgst digest.Digest) (meta.ImageState, error) {
	var out meta.ImageState
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		cur, err := q.GetImageState(ctx, repo, dgst)
		if errors.Is(err, meta.ErrNotFound) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return internal(err, "get image state of %s", dgst)
		}
		out = *cur
		if cur.Status != meta.ImageStatusActivating {
			return nil
		}
		now := r.now()
		out.Status, out.LastActivatedAt = meta.ImageStatusActive, &now
		if err := q.SetImageState(ctx, &out); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return internal(err, "set image state of %s", dgst)
		}
		return nil
	})
	if err != nil {
		return meta.ImageState{}, err
	}
	r.cache.forgetManifest(repo, dgst)
	return out, nil
}

// ---- Pull-time update exclusions ----

// RegisterPullTimeUpdateExclusion excludes a principal's pulls from
// lastRecordedPullTime.
func (r *Registry) RegisterPullTimeUpdateExclusion(ctx context.Context, principalARN string) (meta.PullTimeExclusion, error) {
	e := meta.PullTimeExclusion{PrincipalARN: principalARN, CreatedAt: r.now()}
	err := r.meta.CreatePullTimeExclusion(ctx, &e)
	if errors.Is(err, meta.ErrExists) {
		return e, Errorf(KindExclusionExists, "The specified pull time update exclusion already exists for principal '%s'", principalARN)
	}
	if err != nil {
		return e, internal(err, "register pull-time exclusion")
	}
	r.setExcluded(principalARN, true)
	return e, nil
}

// DeregisterPullTimeUpdateExclusion removes a principal's exclusion.
func (r *Registry) DeregisterPullTimeUpdateExclusion(ctx context.Context, principalARN string) error {
	err := r.meta.DeletePullTimeExclusion(ctx, principalARN)
	if errors.Is(err, meta.ErrNotFound) {
		return Errorf(KindExclusionNotFound, "The specified pull time update exclusion was not found for principal '%s'", principalARN)
	}
	if err != nil {
		return internal(err, "deregister pull-time exclusion")
	}
	r.setExcluded(principalARN, false)
	return nil
}

// ListPullTimeUpdateExclusions lists excluded principal ARNs in order after
// the given ARN; next is the ARN to continue after, empty at the end.
func (r *Registry) ListPullTimeUpdateExclusions(ctx context.Context, after string, limit int) (arns []string, next string, err error) {
	if limit <= 0 {
		limit = 100
	}
	es, err := r.meta.ListPullTimeExclusions(ctx, after, limit+1)
	if err != nil {
		return nil, "", internal(err, "list pull-time exclusions")
	}
	for _, e := range es {
		arns = append(arns, e.PrincipalARN)
	}
	if len(arns) > limit {
		arns = arns[:limit]
		next = arns[limit-1]
	}
	return arns, next, nil
}

func (r *Registry) setExcluded(arn string, excluded bool) {
	st := r.lcState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.excluded == nil {
		st.excluded = make(map[string]bool)
	}
	if excluded {
		st.excluded[arn] = true
	} else {
		delete(st.excluded, arn)
	}
}

// RefreshPullTimeExclusions reloads this node's copy of the exclusions.
func (r *Registry) RefreshPullTimeExclusions(ctx context.Context) error {
	es, err := r.meta.ListPullTimeExclusions(ctx, "", 0)
	if err != nil {
		return internal(err, "list pull-time exclusions")
	}
	set := make(map[string]bool, len(es))
	for _, e := range es {
		set[e.PrincipalARN] = true
	}
	st := r.lcState()
	st.mu.Lock()
	st.excluded, st.loadedAt = set, r.now()
	st.mu.Unlock()
	return nil
}

// RecordPullBy is RecordPull for a pull by principalARN (empty when the
// caller is unknown): a principal registered with
// RegisterPullTimeUpdateExclusion leaves lastRecordedPullTime alone. It never
// waits for the metadata store; the exclusion list is refreshed in the
// background.
func (r *Registry) RecordPullBy(repo string, dgst digest.Digest, principalARN string) {
	if principalARN != "" && r.pullExcluded(principalARN) {
		return
	}
	r.RecordPull(repo, dgst)
}

func (r *Registry) pullExcluded(arn string) bool {
	st := r.lcState()
	st.mu.Lock()
	excluded := st.excluded[arn]
	stale := !st.refreshing && (st.loadedAt.IsZero() || r.now().Sub(st.loadedAt) > exclusionsRefresh)
	if stale {
		st.refreshing = true
	}
	st.mu.Unlock()
	if stale {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := r.RefreshPullTimeExclusions(ctx); err != nil {
				r.log.WarnContext(ctx, "refresh pull-time exclusions", "error", err)
			}
			st.mu.Lock()
			st.refreshing = false
			st.mu.Unlock()
		}()
	}
	return excluded
}

// ImageStates returns the stored states of repo's images by digest; an image
// missing from the map is ACTIVE.
func (r *Registry) ImageStates(ctx context.Context, repo string) (map[digest.Digest]ImageState, error) {
	return r.imageStates(ctx, repo)
}

// CheckPullable reports a KindManifestUnknown error, with a message saying
// why, for an image that is archived or still being restored.
func (r *Registry) CheckPullable(ctx context.Context, repo string, dgst digest.Digest) error {
	return r.checkPullable(ctx, repo, dgst)
}
