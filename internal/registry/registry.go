// Package registry is the domain core. Both API adapters (OCI /v2 and the ECR
// JSON API) call it; every invariant (name rules, reference integrity, the
// manifest size limit, tag immutability, digest verification) lives here and
// nowhere else.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// Config tunes the core.
type Config struct {
	// CreateOnPush creates a missing repository on its first push.
	CreateOnPush bool
	// UploadTTL is how long an idle upload session lives before it is reclaimed.
	UploadTTL time.Duration
	// RegistryID is the 12-digit account id that names this registry in
	// messages (ECR wording: "in the registry with id '...'").
	RegistryID string
	// CacheTTL bounds how long a cached tag resolution or manifest may be
	// served without asking the metadata store. Zero means until this node
	// changes it, which is exact when this node is the only writer (the
	// embedded store); nodes sharing a database need a few seconds.
	CacheTTL time.Duration
	// CacheBytes bounds the manifest cache's memory; defaults to 32 MiB.
	CacheBytes int64
	// Now is the clock (tests inject one); defaults to time.Now.
	Now func() time.Time
}

// Registry is the domain core.
type Registry struct {
	meta    meta.Store
	blobs   blob.Store
	cfg     Config
	log     *slog.Logger
	pulls   *pullRecorder
	cache   *manifestCache
	uploads *uploadLocks
	lc      *lifecycleState // lifecycle.go
}

// New builds the core over a metadata store and a blob store.
func New(m meta.Store, b blob.Store, cfg Config, log *slog.Logger) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UploadTTL <= 0 {
		cfg.UploadTTL = 24 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 32 << 20
	}
	return &Registry{meta: m, blobs: b, cfg: cfg, log: log, pulls: &pullRecorder{}, uploads: &uploadLocks{},
		cache: newManifestCache(cfg.CacheTTL, cfg.CacheBytes, cfg.Now), lc: newLifecycleState()}
}

func (r *Registry) now() time.Time { return r.cfg.Now().UTC() }

// Catalog lists repository names in lexical order after the given name;
// n < 0 means all.
func (r *Registry) Catalog(ctx context.Context, after string, n int) ([]string, error) {
	if n == 0 {
		return []string{}, nil
	}
	repos, err := r.meta.ListRepositories(ctx, after, max(n, 0))
	if err != nil {
		return nil, internal(err, "list repositories")
	}
	names := make([]string, len(repos))
	for i, repo := range repos {
		names[i] = repo.Name
	}
	return names, nil
}

// repositoryForRead validates name and confirms the repository exists.
func (r *Registry) repositoryForRead(ctx context.Context, name string) error {
	if err := ValidateRepositoryName(name); err != nil {
		return err
	}
	if _, err := r.meta.GetRepository(ctx, name); err != nil {
		return r.repoErr(err, name)
	}
	return nil
}

// repositoryForPush validates name and returns the repository, creating it
// when the registry creates repositories on push. It runs inside the push's
// transaction when q is one.
func (r *Registry) repositoryForPush(ctx context.Context, q meta.Queries, name string) (*meta.Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	repo, err := q.GetRepository(ctx, name)
	if err == nil {
		return repo, nil
	}
	if repo, terr := r.createFromTemplate(ctx, q, name, err); repo != nil || terr != nil { // templates.go
		return repo, terr
	}
	if !errors.Is(err, meta.ErrNotFound) || !r.cfg.CreateOnPush {
		return nil, r.repoErr(err, name)
	}
	repo = &meta.Repository{Name: name, CreatedAt: r.now(), Settings: []byte("{}")}
	if err := q.CreateRepository(ctx, repo); err != nil && !errors.Is(err, meta.ErrExists) {
		return nil, internal(err, "create repository %s", name)
	}
	r.log.InfoContext(ctx, "repository created on push", "repository", name)
	return repo, nil
}

// repoErr maps a failed repository lookup.
func (r *Registry) repoErr(err error, name string) error {
	if errors.Is(err, meta.ErrNotFound) {
		return &Error{Kind: KindNameUnknown, Message: fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, r.cfg.RegistryID), Detail: map[string]string{"name": name}}
	}
	return internal(err, "get repository %s", name)
}

// internal wraps an unexpected store failure. A store outage is already a
// KindUnavailable *Error by way of AsError.
func internal(err error, format string, args ...any) error {
	if e, ok := AsError(err); ok {
		return e
	}
	return &Error{Kind: KindInternal, Message: fmt.Sprintf(format, args...), Err: err}
}
