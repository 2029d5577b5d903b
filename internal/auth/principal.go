// Package auth authenticates callers: AWS Signature Version 4 on the ECR JSON
// and IAM/STS Query APIs, stateless login tokens for the /v2 registry API
// (docker login), and sealing of secret access keys at rest.
//
// Identities and keys are stored elsewhere; this package reaches them only
// through the small KeyLookup interface.
package auth

import (
	"context"
	"errors"
	"time"
)

// ErrKeyNotFound is returned (possibly wrapped) by a KeyLookup when no access
// key has the requested ID.
var ErrKeyNotFound = errors.New("access key not found")

// KeyStatus is the IAM status of an access key.
type KeyStatus string

const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// Principal is an authenticated caller.
type Principal struct {
	// ARN is the principal's ARN, e.g. arn:aws:iam::123456789012:user/alice,
	// or arn:aws:iam::123456789012:root for the account root.
	ARN       string
	UserName  string
	UserID    string
	AccountID string
	IsRoot    bool
	// AccessKeyID is the key the request was authenticated with (for a login
	// token: the key that minted it).
	AccessKeyID string
}

// AccessKey is what a KeyLookup knows about an access key.
type AccessKey struct {
	ID     string
	Secret string
	Status KeyStatus
	// SessionToken is set for temporary credentials: requests must carry the
	// same X-Amz-Security-Token. Empty for long-term keys, which must not
	// carry one.
	SessionToken string
	// Expiration is set for temporary credentials; zero means never.
	Expiration time.Time
	// Owner is the principal that owns the key.
	Owner Principal
}

// KeyLookup finds access keys by ID. Implementations return an error wrapping
// ErrKeyNotFound for an unknown ID; any other error is treated as an internal
// failure, not as a client error.
type KeyLookup interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error)
}

// usable reports whether k may authenticate a request at now, and the reason
// when it may not.
func (k *AccessKey) usable(now time.Time) Reason {
	if k.Status != KeyActive {
		return ReasonUnknownKey
	}
	if !k.Expiration.IsZero() && !now.Before(k.Expiration) {
		return ReasonExpiredToken
	}
	return 0
}
