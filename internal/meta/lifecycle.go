package meta

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// LifecyclePolicy is a repository's lifecycle policy (ECR's
// PutLifecyclePolicy). Text is the policy document exactly as put.
type LifecyclePolicy struct {
	Repository string
	Text       string
	UpdatedAt  time.Time
	// LastEvaluatedAt is nil until the policy was first run.
	LastEvaluatedAt *time.Time
}

// Lifecycle preview states (ECR's LifecyclePolicyPreviewStatus).
const (
	PreviewInProgress = "IN_PROGRESS"
	PreviewComplete   = "COMPLETE"
	PreviewFailed     = "FAILED"
)

// LifecyclePreview is the one preview a repository keeps: the latest started.
// It lives in the metadata store so any node can answer for it.
type LifecyclePreview struct {
	Repository string
	Status     string
	PolicyText string
	// Results is an opaque JSON document owned by the core (the preview
	// results and summary); empty until the preview completes.
	Results   []byte
	StartedAt time.Time
	UpdatedAt time.Time
}

// Image states (ECR's imageStatus) as stored; an image without a stored
// state is ACTIVE.
const (
	ImageStatusActive     = "ACTIVE"
	ImageStatusArchived   = "ARCHIVED"
	ImageStatusActivating = "ACTIVATING"
)

// ImageState is the storage state of one manifest. It is removed with the
// manifest.
type ImageState struct {
	Repository      string
	Digest          digest.Digest
	Status          string
	LastArchivedAt  *time.Time
	LastActivatedAt *time.Time
}

// PullTimeExclusion is a principal whose pulls do not update
// lastRecordedPullTime (ECR's RegisterPullTimeUpdateExclusion).
type PullTimeExclusion struct {
	PrincipalARN string
	CreatedAt    time.Time
}

// LifecycleQueries are the metadata operations of lifecycle policies, the
// archive storage class, leases and pull-time exclusions.
type LifecycleQueries interface {
	// PutLifecyclePolicy creates or replaces repo's policy, keeping its
	// LastEvaluatedAt. ErrNotFound when the repository does not exist.
	PutLifecyclePolicy(ctx context.Context, p *LifecyclePolicy) error
	GetLifecyclePolicy(ctx context.Context, repo string) (*LifecyclePolicy, error) // ErrNotFound
	DeleteLifecyclePolicy(ctx context.Context, repo string) error                  // ErrNotFound
	// SetLifecycleEvaluated records when repo's policy last ran. ErrNotFound
	// when repo has no policy.
	SetLifecycleEvaluated(ctx context.Context, repo string, at time.Time) error
	// ListLifecyclePolicies returns up to limit policies ordered by
	// repository, after the given repository; limit <= 0 means all.
	ListLifecyclePolicies(ctx context.Context, after string, limit int) ([]LifecyclePolicy, error)

	// StartLifecyclePreview stores p (status IN_PROGRESS) as repo's preview,
	// replacing the previous one unless that one is still IN_PROGRESS and was
	// updated at or after staleBefore: then ErrExists. ErrNotFound when the
	// repository does not exist.
	StartLifecyclePreview(ctx context.Context, p *LifecyclePreview, staleBefore time.Time) error
	// FinishLifecyclePreview sets the status, results and UpdatedAt of the
	// preview that started at p.StartedAt; ErrNotFound when it was replaced.
	FinishLifecyclePreview(ctx context.Context, p *LifecyclePreview) error
	GetLifecyclePreview(ctx context.Context, repo string) (*LifecyclePreview, error) // ErrNotFound

	// SetImageState creates or replaces a manifest's state; ErrNotFound when
	// the manifest does not exist.
	SetImageState(ctx context.Context, st *ImageState) error
	GetImageState(ctx context.Context, repo string, dgst digest.Digest) (*ImageState, error) // ErrNotFound: never changed (ACTIVE)
	// ListImageStates returns the stored states of repo's manifests.
	ListImageStates(ctx context.Context, repo string) ([]ImageState, error)

	// AcquireLease takes or renews the named lease for holder until the given
	// time. It succeeds when the lease is free, expired at now, or already
	// held by holder; it reports false when another holder has it.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// ReleaseLease frees the lease if holder has it (otherwise a no-op).
	ReleaseLease(ctx context.Context, name, holder string) error

	CreatePullTimeExclusion(ctx context.Context, e *PullTimeExclusion) error // ErrExists
	DeletePullTimeExclusion(ctx context.Context, principalARN string) error  // ErrNotFound
	// ListPullTimeExclusions returns up to limit exclusions ordered by ARN,
	// after the given ARN; limit <= 0 means all.
	ListPullTimeExclusions(ctx context.Context, after string, limit int) ([]PullTimeExclusion, error)
}
