package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// Image tag mutability modes (ECR's names).
const (
	TagMutable                = "MUTABLE"
	TagImmutable              = "IMMUTABLE"
	TagMutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
	TagImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
)

// TagFilter is an ECR image tag mutability exclusion filter.
type TagFilter struct {
	FilterType string `json:"filterType"` // WILDCARD
	Filter     string `json:"filter"`
}

// ResourceTag is a key/value tag on a repository (not an image tag).
type ResourceTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// RepositorySettings is a repository's configuration, stored as one JSON
// document so new settings need no schema migration.
type RepositorySettings struct {
	ImageTagMutability string        `json:"imageTagMutability,omitempty"`
	MutabilityFilters  []TagFilter   `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ScanOnPush         bool          `json:"scanOnPush,omitempty"`
	EncryptionType     string        `json:"encryptionType,omitempty"`
	KMSKey             string        `json:"kmsKey,omitempty"`
	Tags               []ResourceTag `json:"tags,omitempty"`
	RepositoryPolicy   string        `json:"repositoryPolicy,omitempty"` // policies.go
}

// Repository is a repository with its decoded settings.
type Repository struct {
	Name      string
	CreatedAt time.Time
	RepositorySettings
}

// normalize fills defaults.
func (s *RepositorySettings) normalize() {
	if s.ImageTagMutability == "" {
		s.ImageTagMutability = TagMutable
	}
	if s.EncryptionType == "" {
		s.EncryptionType = blob.EncryptionAES256
	}
}

// TagIsImmutable reports whether tag may not be moved once it exists.
func (s *RepositorySettings) TagIsImmutable(tag string) bool {
	switch s.ImageTagMutability {
	case TagImmutable:
		return true
	case TagImmutableWithExclusion:
		return !s.matchesFilter(tag)
	case TagMutableWithExclusion:
		return s.matchesFilter(tag)
	default:
		return false
	}
}

func (s *RepositorySettings) matchesFilter(tag string) bool {
	for _, f := range s.MutabilityFilters {
		// ECR wildcard filters use '*' only; path.Match also knows '?' and
		// '[', which the filter pattern rule excludes on input.
		if ok, err := path.Match(f.Filter, tag); err == nil && ok {
			return true
		}
	}
	return false
}

func decodeRepository(m *meta.Repository) (*Repository, error) {
	repo := &Repository{Name: m.Name, CreatedAt: m.CreatedAt}
	if len(m.Settings) > 0 {
		if err := json.Unmarshal(m.Settings, &repo.RepositorySettings); err != nil {
			return nil, internal(err, "decode settings of repository %s", m.Name)
		}
	}
	repo.normalize()
	return repo, nil
}

// CreateRepository creates a repository with the given settings.
func (r *Registry) CreateRepository(ctx context.Context, name string, settings RepositorySettings) (*Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	settings.normalize()
	doc, err := json.Marshal(settings)
	if err != nil {
		return nil, internal(err, "encode repository settings")
	}
	m := &meta.Repository{Name: name, CreatedAt: r.now(), Settings: doc}
	if err := r.meta.CreateRepository(ctx, m); err != nil {
		if errors.Is(err, meta.ErrExists) {
			return nil, &Error{Kind: KindRepositoryExists, Message: fmt.Sprintf("The repository with name '%s' already exists in the registry with id '%s'", name, r.cfg.RegistryID)}
		}
		return nil, internal(err, "create repository %s", name)
	}
	return &Repository{Name: name, CreatedAt: m.CreatedAt, RepositorySettings: settings}, nil
}

// GetRepository returns a repository.
func (r *Registry) GetRepository(ctx context.Context, name string) (*Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	m, err := r.meta.GetRepository(ctx, name)
	if err != nil {
		return nil, r.repoErr(err, name)
	}
	return decodeRepository(m)
}

// ListRepositories lists repositories ordered by name after the given name; n < 0 means all.
func (r *Registry) ListRepositories(ctx context.Context, after string, n int) ([]*Repository, error) {
	if n == 0 {
		return nil, nil
	}
	ms, err := r.meta.ListRepositories(ctx, after, max(n, 0))
	if err != nil {
		return nil, internal(err, "list repositories")
	}
	out := make([]*Repository, 0, len(ms))
	for i := range ms {
		repo, err := decodeRepository(&ms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, repo)
	}
	return out, nil
}

// UpdateRepository applies change to a repository's settings atomically.
func (r *Registry) UpdateRepository(ctx context.Context, name string, change func(*RepositorySettings) error) (*Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	var repo *Repository
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		m, err := q.GetRepository(ctx, name)
		if err != nil {
			return r.repoErr(err, name)
		}
		if repo, err = decodeRepository(m); err != nil {
			return err
		}
		if err := change(&repo.RepositorySettings); err != nil {
			return err
		}
		repo.normalize()
		doc, err := json.Marshal(repo.RepositorySettings)
		if err != nil {
			return internal(err, "encode repository settings")
		}
		if err := q.UpdateRepositorySettings(ctx, name, doc); err != nil {
			return internal(err, "update repository %s", name)
		}
		return nil
	})
	return repo, err
}

// DeleteRepository deletes a repository. Unless force is set, a repository
// that still holds images is refused. Bytes are reclaimed later by garbage
// collection.
func (r *Registry) DeleteRepository(ctx context.Context, name string, force bool) (*Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	var repo *Repository
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		m, err := q.GetRepository(ctx, name)
		if err != nil {
			return r.repoErr(err, name)
		}
		if repo, err = decodeRepository(m); err != nil {
			return err
		}
		if !force {
			images, err := q.ListManifests(ctx, name, "", 1)
			if err != nil {
				return internal(err, "list images of %s", name)
			}
			if len(images) > 0 {
				return &Error{Kind: KindRepositoryNotEmpty, Message: fmt.Sprintf("The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, r.cfg.RegistryID)}
			}
		}
		if err := q.DeleteRepository(ctx, name); err != nil {
			return internal(err, "delete repository %s", name)
		}
		return nil
	})
	if err == nil {
		r.cache.forgetRepository(name)
	}
	return repo, err
}
