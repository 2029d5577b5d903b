package meta

import (
	"context"
	"time"
)

// IAM users, groups, access keys and policies (the IAM subset Berth serves).
//
// Names of users and groups are unique without regard to case, as in IAM:
// every lookup by name is case-insensitive and returns the name as created.
// The store enforces existence (ErrNotFound when what a row attaches to is
// missing) and uniqueness (ErrExists); the rules that span rows (at most two
// access keys, no deletion while something is attached) are checked by the
// caller inside one InTx.

// IAMUser is an IAM user.
type IAMUser struct {
	Name      string
	Path      string // "/" by default; begins and ends with "/"
	UserID    string // AIDA...
	CreatedAt time.Time
}

// IAMGroup is an IAM group.
type IAMGroup struct {
	Name      string
	Path      string
	GroupID   string // AGPA...
	CreatedAt time.Time
}

// IAMAccessKey is a user's long-term access key. The secret is stored only
// sealed (encrypted with the server key); the store never sees it in clear.
type IAMAccessKey struct {
	ID           string // AKIA...
	UserName     string
	SealedSecret []byte
	Status       string // "Active" or "Inactive"
	CreatedAt    time.Time
}

// IAMPolicyOwner says what an inline policy is embedded in.
type IAMPolicyOwner string

const (
	IAMOwnerUser  IAMPolicyOwner = "user"
	IAMOwnerGroup IAMPolicyOwner = "group"
)

// IAMInlinePolicy is an inline policy of a user or group.
type IAMInlinePolicy struct {
	OwnerKind IAMPolicyOwner
	Owner     string // user or group name
	Name      string
	Document  string
}

// IAM is the metadata of IAM identities. It is part of Queries.
type IAM interface {
	CreateIAMUser(ctx context.Context, u *IAMUser) error                 // ErrExists
	GetIAMUser(ctx context.Context, name string) (*IAMUser, error)       // ErrNotFound
	GetIAMUserByID(ctx context.Context, userID string) (*IAMUser, error) // ErrNotFound
	// ListIAMUsers returns up to limit users whose path starts with
	// pathPrefix, ordered by lower-cased name, after the given name.
	ListIAMUsers(ctx context.Context, pathPrefix, after string, limit int) ([]IAMUser, error)
	// DeleteIAMUser removes the user row only; the caller checks first that
	// nothing is attached (ErrNotFound).
	DeleteIAMUser(ctx context.Context, name string) error

	CreateIAMAccessKey(ctx context.Context, k *IAMAccessKey) error                  // ErrNotFound (user), ErrExists
	GetIAMAccessKey(ctx context.Context, id string) (*IAMAccessKey, error)          // ErrNotFound
	ListIAMAccessKeys(ctx context.Context, userName string) ([]IAMAccessKey, error) // by creation time
	UpdateIAMAccessKeyStatus(ctx context.Context, id, status string) error          // ErrNotFound
	DeleteIAMAccessKey(ctx context.Context, id string) error                        // ErrNotFound

	// PutIAMInlinePolicy creates or replaces an inline policy (ErrNotFound
	// when the owner does not exist).
	PutIAMInlinePolicy(ctx context.Context, p *IAMInlinePolicy) error
	GetIAMInlinePolicy(ctx context.Context, kind IAMPolicyOwner, owner, name string) (*IAMInlinePolicy, error) // ErrNotFound
	DeleteIAMInlinePolicy(ctx context.Context, kind IAMPolicyOwner, owner, name string) error                  // ErrNotFound
	// ListIAMInlinePolicies returns the owner's inline policies ordered by name.
	ListIAMInlinePolicies(ctx context.Context, kind IAMPolicyOwner, owner string) ([]IAMInlinePolicy, error)

	// AttachIAMUserPolicy attaches a managed policy ARN (idempotent;
	// ErrNotFound when the user does not exist).
	AttachIAMUserPolicy(ctx context.Context, user, policyARN string) error
	DetachIAMUserPolicy(ctx context.Context, user, policyARN string) error // ErrNotFound
	ListIAMAttachedUserPolicies(ctx context.Context, user string) ([]string, error)

	CreateIAMGroup(ctx context.Context, g *IAMGroup) error           // ErrExists
	GetIAMGroup(ctx context.Context, name string) (*IAMGroup, error) // ErrNotFound
	DeleteIAMGroup(ctx context.Context, name string) error           // ErrNotFound
	// AddIAMUserToGroup is idempotent (ErrNotFound when either is missing).
	AddIAMUserToGroup(ctx context.Context, group, user string) error
	RemoveIAMUserFromGroup(ctx context.Context, group, user string) error // ErrNotFound
	ListIAMGroupsForUser(ctx context.Context, user string) ([]IAMGroup, error)
	ListIAMGroupMembers(ctx context.Context, group string) ([]string, error)
}
