package registry

// Repository and registry policies: ECR's resource-based policies. The
// repository policy is part of a repository's settings (deleted with it);
// the registry policy is one registry-wide setting. Both are validated as IAM
// resource policies on write, so nothing malformed is ever stored, and a
// write either stores the whole new text or nothing.

import (
	"context"
	"errors"

	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/policy"
)

// SettingRegistryPolicy is the settings key holding the registry policy text
// ("" or absent: none).
const SettingRegistryPolicy = "ecr.registry-policy"

// ECR's InvalidParameterException wording for a policy it refuses.
const (
	msgInvalidRepositoryPolicy = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
	msgInvalidRegistryPolicy   = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'"
)

// ParseRepositoryPolicy validates and compiles a repository policy text.
// A text ECR would refuse is a KindInvalidParameter error with ECR's wording.
func ParseRepositoryPolicy(text string) (*policy.Policy, error) {
	p, err := policy.ParseResourcePolicy(text)
	if err != nil {
		return nil, &Error{Kind: KindInvalidParameter, Message: msgInvalidRepositoryPolicy, Err: err}
	}
	return p, nil
}

// ParseRegistryPolicy validates and compiles a registry policy text.
func ParseRegistryPolicy(text string) (*policy.Policy, error) {
	p, err := policy.ParseResourcePolicy(text)
	if err != nil {
		return nil, &Error{Kind: KindInvalidParameter, Message: msgInvalidRegistryPolicy, Err: err}
	}
	return p, nil
}

// SetRepositoryPolicy validates text and stores it as the repository's
// policy, replacing any other.
func (r *Registry) SetRepositoryPolicy(ctx context.Context, name, text string) (*Repository, error) {
	if err := ValidateRepositoryName(name); err != nil {
		return nil, err
	}
	if _, err := ParseRepositoryPolicy(text); err != nil {
		return nil, err
	}
	return r.UpdateRepository(ctx, name, func(s *RepositorySettings) error {
		s.RepositoryPolicy = text
		return nil
	})
}

// GetRepositoryPolicy returns the repository's policy text, "" when it has
// none.
func (r *Registry) GetRepositoryPolicy(ctx context.Context, name string) (string, error) {
	repo, err := r.GetRepository(ctx, name)
	if err != nil {
		return "", err
	}
	return repo.RepositoryPolicy, nil
}

// errNoPolicy aborts a transaction that has nothing to delete.
var errNoPolicy = errors.New("no policy")

// DeleteRepositoryPolicy removes the repository's policy and returns the text
// it had; "" (and no change) when it had none.
func (r *Registry) DeleteRepositoryPolicy(ctx context.Context, name string) (string, error) {
	var old string
	_, err := r.UpdateRepository(ctx, name, func(s *RepositorySettings) error {
		old = s.RepositoryPolicy
		if old == "" {
			return errNoPolicy
		}
		s.RepositoryPolicy = ""
		return nil
	})
	if errors.Is(err, errNoPolicy) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return old, nil
}

// PutRegistryPolicy validates text and stores it as the registry policy.
func (r *Registry) PutRegistryPolicy(ctx context.Context, text string) error {
	if _, err := ParseRegistryPolicy(text); err != nil {
		return err
	}
	if err := r.meta.PutSetting(ctx, SettingRegistryPolicy, []byte(text)); err != nil {
		return internal(err, "store the registry policy")
	}
	return nil
}

// GetRegistryPolicy returns the registry policy text, "" when there is none.
func (r *Registry) GetRegistryPolicy(ctx context.Context) (string, error) {
	b, err := r.meta.GetSetting(ctx, SettingRegistryPolicy)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", internal(err, "read the registry policy")
	}
	return string(b), nil
}

// DeleteRegistryPolicy removes the registry policy and returns the text it
// had; "" (and no change) when there was none.
func (r *Registry) DeleteRegistryPolicy(ctx context.Context) (string, error) {
	var old string
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		b, err := q.GetSetting(ctx, SettingRegistryPolicy)
		if errors.Is(err, meta.ErrNotFound) || err == nil && len(b) == 0 {
			return errNoPolicy
		}
		if err != nil {
			return internal(err, "read the registry policy")
		}
		old = string(b)
		if err := q.PutSetting(ctx, SettingRegistryPolicy, []byte{}); err != nil {
			return internal(err, "delete the registry policy")
		}
		return nil
	})
	if errors.Is(err, errNoPolicy) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return old, nil
}
