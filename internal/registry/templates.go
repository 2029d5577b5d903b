package registry

// Repository creation templates (ECR's CreateRepositoryCreationTemplate and
// friends). A template names a prefix ("ROOT" for every repository) and the
// settings a repository created under it starts with. Templates applied for
// CREATE_ON_PUSH make a push to a missing repository create it, even when the
// registry does not create repositories on push otherwise; the longest
// matching prefix wins. PULL_THROUGH_CACHE and REPLICATION templates are
// stored for the features that will apply them.
//
// A repository created from a template gets the template's tag mutability
// (and exclusion filters), resource tags and encryption settings in its
// settings document, its repository policy as RepositorySettings.RepositoryPolicy
// (policies.go) and its lifecycle policy as the repository's lifecycle policy
// (meta.LifecycleQueries.PutLifecyclePolicy, lifecycle.go), all in the
// transaction that creates the repository.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/lifecycle"
	"github.com/berth-registry/berth/internal/meta"
)

// Template applied-for values and the prefix matching every repository.
const (
	AppliedCreateOnPush     = "CREATE_ON_PUSH"
	AppliedPullThroughCache = "PULL_THROUGH_CACHE"
	AppliedReplication      = "REPLICATION"
	TemplatePrefixRoot      = "ROOT"
	// maxTemplates bounds the templates a registry holds (ECR's quota is 50
	// per region; a little slack for tests and migrations).
	maxTemplates = 100
)

// Sentinels a template error wraps, so adapters can name ECR's exceptions.
var (
	ErrTemplateExists   = errors.New("template already exists")
	ErrTemplateNotFound = errors.New("template not found")
)

// CreationTemplate is a repository creation template.
type CreationTemplate struct {
	Prefix             string        `json:"-"`
	Description        string        `json:"description,omitempty"`
	AppliedFor         []string      `json:"appliedFor"`
	ImageTagMutability string        `json:"imageTagMutability,omitempty"`
	MutabilityFilters  []TagFilter   `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ResourceTags       []ResourceTag `json:"resourceTags,omitempty"`
	EncryptionType     string        `json:"encryptionType,omitempty"`
	KMSKey             string        `json:"kmsKey,omitempty"`
	RepositoryPolicy   string        `json:"repositoryPolicy,omitempty"`
	LifecyclePolicy    string        `json:"lifecyclePolicy,omitempty"`
	CustomRoleARN      string        `json:"customRoleArn,omitempty"`
	CreatedAt          time.Time     `json:"-"`
	UpdatedAt          time.Time     `json:"-"`
}

// normalizeTemplatePrefix drops a trailing slash ("team/" and "team" name the
// same namespace).
func normalizeTemplatePrefix(p string) string {
	if p == TemplatePrefixRoot {
		return p
	}
	return strings.TrimSuffix(p, "/")
}

// templateMatches reports whether a template prefix covers a repository name:
// ROOT covers every name, "team" covers "team/..." (a namespace).
func templateMatches(prefix, name string) bool {
	return prefix == TemplatePrefixRoot || strings.HasPrefix(name, prefix+"/")
}

// validate checks a template and fills defaults.
func (t *CreationTemplate) validate() error {
	t.Prefix = normalizeTemplatePrefix(t.Prefix)
	if t.Prefix != TemplatePrefixRoot {
		if err := ValidateRepositoryName(t.Prefix); err != nil {
			return Errorf(KindInvalidParameter, "Invalid parameter at 'prefix' failed to satisfy constraint: 'must be ROOT or a repository namespace'")
		}
	}
	if len(t.AppliedFor) == 0 {
		return Errorf(KindInvalidParameter, "Invalid parameter at 'appliedFor' failed to satisfy constraint: 'must contain at least one of CREATE_ON_PUSH, PULL_THROUGH_CACHE, REPLICATION'")
	}
	seen := map[string]bool{}
	for _, a := range t.AppliedFor {
		switch a {
		case AppliedCreateOnPush, AppliedPullThroughCache, AppliedReplication:
		default:
			return Errorf(KindInvalidParameter, "Invalid parameter at 'appliedFor' failed to satisfy constraint: '%s is not one of CREATE_ON_PUSH, PULL_THROUGH_CACHE, REPLICATION'", quoteTrunc(a))
		}
		if seen[a] {
			return Errorf(KindInvalidParameter, "Invalid parameter at 'appliedFor' failed to satisfy constraint: '%s is listed twice'", a)
		}
		seen[a] = true
	}
	switch t.ImageTagMutability {
	case "":
		t.ImageTagMutability = TagMutable
	case TagMutable, TagImmutable, TagMutableWithExclusion, TagImmutableWithExclusion:
	default:
		return Errorf(KindInvalidParameter, "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'must be one of MUTABLE, IMMUTABLE, MUTABLE_WITH_EXCLUSION, IMMUTABLE_WITH_EXCLUSION'")
	}
	if t.EncryptionType == "" {
		t.EncryptionType = blob.EncryptionAES256
	}
	if t.LifecyclePolicy != "" {
		if err := lifecycle.Validate(t.LifecyclePolicy); err != nil {
			return policyError(err)
		}
	}
	if t.RepositoryPolicy != "" {
		if _, err := ParseRepositoryPolicy(t.RepositoryPolicy); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) templateMissing(prefix string) error {
	return &Error{Kind: KindInvalidParameter, Err: ErrTemplateNotFound,
		Message: fmt.Sprintf("The repository creation template with prefix '%s' does not exist in the registry with id '%s'", prefix, r.cfg.RegistryID)}
}

func encodeTemplate(t *CreationTemplate) (*meta.CreationTemplate, error) {
	doc, err := json.Marshal(t)
	if err != nil {
		return nil, internal(err, "encode creation template")
	}
	return &meta.CreationTemplate{Prefix: t.Prefix, Document: doc, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}, nil
}

func decodeTemplate(m *meta.CreationTemplate) (*CreationTemplate, error) {
	t := &CreationTemplate{}
	if err := json.Unmarshal(m.Document, t); err != nil {
		return nil, internal(err, "decode creation template %s", m.Prefix)
	}
	t.Prefix, t.CreatedAt, t.UpdatedAt = m.Prefix, m.CreatedAt, m.UpdatedAt
	return t, nil
}

// CreateCreationTemplate validates and stores a new template.
func (r *Registry) CreateCreationTemplate(ctx context.Context, t CreationTemplate) (*CreationTemplate, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	t.CreatedAt = r.now()
	t.UpdatedAt = t.CreatedAt
	m, err := encodeTemplate(&t)
	if err != nil {
		return nil, err
	}
	err = r.meta.InTx(ctx, func(q meta.Queries) error {
		existing, err := q.ListCreationTemplates(ctx, "", maxTemplates+1)
		if err != nil {
			return internal(err, "list creation templates")
		}
		if len(existing) >= maxTemplates {
			return &Error{Kind: KindInvalidParameter, Message: fmt.Sprintf("The maximum number of repository creation templates (%d) has been reached", maxTemplates), Err: errTemplateLimit}
		}
		if err := q.CreateCreationTemplate(ctx, m); err != nil {
			if errors.Is(err, meta.ErrExists) {
				return &Error{Kind: KindInvalidParameter, Err: ErrTemplateExists,
					Message: fmt.Sprintf("The repository creation template with prefix '%s' already exists in the registry with id '%s'", t.Prefix, r.cfg.RegistryID)}
			}
			return internal(err, "create creation template %s", t.Prefix)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// errTemplateLimit marks the template quota being reached (ECR's LimitExceededException).
var errTemplateLimit = errors.New("template limit")

// IsTemplateLimit reports whether err is the template quota being reached.
func IsTemplateLimit(err error) bool { return errors.Is(err, errTemplateLimit) }

// GetCreationTemplate returns the template for prefix.
func (r *Registry) GetCreationTemplate(ctx context.Context, prefix string) (*CreationTemplate, error) {
	return r.loadTemplate(ctx, r.meta, normalizeTemplatePrefix(prefix))
}

// loadTemplate reads and decodes the template for a normalized prefix
// through q (the store, or a transaction).
func (r *Registry) loadTemplate(ctx context.Context, q meta.Queries, prefix string) (*CreationTemplate, error) {
	m, err := q.GetCreationTemplate(ctx, prefix)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, r.templateMissing(prefix)
	}
	if err != nil {
		return nil, internal(err, "get creation template %s", prefix)
	}
	return decodeTemplate(m)
}

// ListCreationTemplates lists up to n templates (n <= 0: all) ordered by
// prefix after the given prefix.
func (r *Registry) ListCreationTemplates(ctx context.Context, after string, n int) ([]*CreationTemplate, error) {
	ms, err := r.meta.ListCreationTemplates(ctx, after, n)
	if err != nil {
		return nil, internal(err, "list creation templates")
	}
	out := make([]*CreationTemplate, 0, len(ms))
	for i := range ms {
		t, err := decodeTemplate(&ms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// UpdateCreationTemplate applies change to a template atomically.
func (r *Registry) UpdateCreationTemplate(ctx context.Context, prefix string, change func(*CreationTemplate) error) (*CreationTemplate, error) {
	prefix = normalizeTemplatePrefix(prefix)
	var t *CreationTemplate
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		var err error
		if t, err = r.loadTemplate(ctx, q, prefix); err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		t.Prefix = prefix
		if err := t.validate(); err != nil {
			return err
		}
		t.UpdatedAt = r.now()
		enc, err := encodeTemplate(t)
		if err != nil {
			return err
		}
		if err := q.UpdateCreationTemplate(ctx, enc); err != nil {
			return internal(err, "update creation template %s", prefix)
		}
		return nil
	})
	return t, err
}

// DeleteCreationTemplate deletes a template and returns it.
func (r *Registry) DeleteCreationTemplate(ctx context.Context, prefix string) (*CreationTemplate, error) {
	prefix = normalizeTemplatePrefix(prefix)
	var t *CreationTemplate
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		var err error
		if t, err = r.loadTemplate(ctx, q, prefix); err != nil {
			return err
		}
		if err := q.DeleteCreationTemplate(ctx, prefix); err != nil {
			return internal(err, "delete creation template %s", prefix)
		}
		return nil
	})
	return t, err
}

// matchTemplate returns the CREATE_ON_PUSH template with the longest prefix
// covering name (ROOT last), or nil.
func matchTemplate(ts []*CreationTemplate, name string) *CreationTemplate {
	var best *CreationTemplate
	for _, t := range ts {
		if !slices.Contains(t.AppliedFor, AppliedCreateOnPush) || !templateMatches(t.Prefix, name) {
			continue
		}
		if best == nil || best.Prefix == TemplatePrefixRoot || (t.Prefix != TemplatePrefixRoot && len(t.Prefix) > len(best.Prefix)) {
			best = t
		}
	}
	return best
}

// createFromTemplate is repositoryForPush's miss path: when lookupErr says the
// repository does not exist and a CREATE_ON_PUSH template covers name, it
// creates the repository with the template's settings and policies. It
// returns nil, nil when no template applies.
func (r *Registry) createFromTemplate(ctx context.Context, q meta.Queries, name string, lookupErr error) (*meta.Repository, error) {
	if !errors.Is(lookupErr, meta.ErrNotFound) {
		return nil, nil
	}
	ms, err := q.ListCreationTemplates(ctx, "", maxTemplates)
	if err != nil {
		return nil, internal(err, "list creation templates")
	}
	if len(ms) == 0 {
		return nil, nil
	}
	ts := make([]*CreationTemplate, 0, len(ms))
	for i := range ms {
		t, err := decodeTemplate(&ms[i])
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	t := matchTemplate(ts, name)
	if t == nil {
		return nil, nil
	}
	settings := RepositorySettings{
		ImageTagMutability: t.ImageTagMutability,
		MutabilityFilters:  t.MutabilityFilters,
		EncryptionType:     t.EncryptionType,
		KMSKey:             t.KMSKey,
		Tags:               t.ResourceTags,
		RepositoryPolicy:   t.RepositoryPolicy,
	}
	settings.normalize()
	doc, err := json.Marshal(settings)
	if err != nil {
		return nil, internal(err, "encode repository settings")
	}
	repo := &meta.Repository{Name: name, CreatedAt: r.now(), Settings: doc}
	create := func(q meta.Queries) error {
		if err := q.CreateRepository(ctx, repo); err != nil {
			if errors.Is(err, meta.ErrExists) { // a concurrent push created it
				if got, gerr := q.GetRepository(ctx, name); gerr == nil {
					repo = got
				}
				return nil
			}
			return internal(err, "create repository %s", name)
		}
		if t.LifecyclePolicy != "" {
			p := &meta.LifecyclePolicy{Repository: name, Text: t.LifecyclePolicy, UpdatedAt: r.now()}
			if err := q.PutLifecyclePolicy(ctx, p); err != nil {
				return internal(err, "put lifecycle policy of %s from template", name)
			}
		}
		return nil
	}
	// Called with the store itself (not a transaction): make the two writes one.
	if s, ok := q.(meta.Store); ok && s == r.meta {
		err = r.meta.InTx(ctx, create)
	} else {
		err = create(q)
	}
	if err != nil {
		return nil, err
	}
	r.log.InfoContext(ctx, "repository created on push from template", "audit", true, "repository", name, "template", t.Prefix)
	return repo, nil
}
