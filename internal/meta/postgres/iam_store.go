package postgres

// Wrappers routing meta.IAM for Store: reads on the read pool with
// retries, writes in their own serializable transaction.

import (
	"context"

	"github.com/berth-registry/berth/internal/meta"
)

var _ meta.IAM = (*Store)(nil)
var _ meta.IAM = querier{}

// GetIAMUser implements meta.IAM on the read pool.
func (s *Store) GetIAMUser(ctx context.Context, name string) (*meta.IAMUser, error) {
	return read(ctx, s, "GetIAMUser", func(q querier) (*meta.IAMUser, error) { return q.GetIAMUser(ctx, name) })
}

// GetIAMUserByID implements meta.IAM on the read pool.
func (s *Store) GetIAMUserByID(ctx context.Context, userID string) (*meta.IAMUser, error) {
	return read(ctx, s, "GetIAMUserByID", func(q querier) (*meta.IAMUser, error) { return q.GetIAMUserByID(ctx, userID) })
}

// ListIAMUsers implements meta.IAM on the read pool.
func (s *Store) ListIAMUsers(ctx context.Context, pathPrefix, after string, limit int) ([]meta.IAMUser, error) {
	return read(ctx, s, "ListIAMUsers", func(q querier) ([]meta.IAMUser, error) { return q.ListIAMUsers(ctx, pathPrefix, after, limit) })
}

// GetIAMAccessKey implements meta.IAM on the read pool.
func (s *Store) GetIAMAccessKey(ctx context.Context, id string) (*meta.IAMAccessKey, error) {
	return read(ctx, s, "GetIAMAccessKey", func(q querier) (*meta.IAMAccessKey, error) { return q.GetIAMAccessKey(ctx, id) })
}

// ListIAMAccessKeys implements meta.IAM on the read pool.
func (s *Store) ListIAMAccessKeys(ctx context.Context, userName string) ([]meta.IAMAccessKey, error) {
	return read(ctx, s, "ListIAMAccessKeys", func(q querier) ([]meta.IAMAccessKey, error) { return q.ListIAMAccessKeys(ctx, userName) })
}

// GetIAMInlinePolicy implements meta.IAM on the read pool.
func (s *Store) GetIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) (*meta.IAMInlinePolicy, error) {
	return read(ctx, s, "GetIAMInlinePolicy", func(q querier) (*meta.IAMInlinePolicy, error) { return q.GetIAMInlinePolicy(ctx, kind, owner, name) })
}

// ListIAMInlinePolicies implements meta.IAM on the read pool.
func (s *Store) ListIAMInlinePolicies(ctx context.Context, kind meta.IAMPolicyOwner, owner string) ([]meta.IAMInlinePolicy, error) {
	return read(ctx, s, "ListIAMInlinePolicies", func(q querier) ([]meta.IAMInlinePolicy, error) { return q.ListIAMInlinePolicies(ctx, kind, owner) })
}

// ListIAMAttachedUserPolicies implements meta.IAM on the read pool.
func (s *Store) ListIAMAttachedUserPolicies(ctx context.Context, user string) ([]string, error) {
	return read(ctx, s, "ListIAMAttachedUserPolicies", func(q querier) ([]string, error) { return q.ListIAMAttachedUserPolicies(ctx, user) })
}

// GetIAMGroup implements meta.IAM on the read pool.
func (s *Store) GetIAMGroup(ctx context.Context, name string) (*meta.IAMGroup, error) {
	return read(ctx, s, "GetIAMGroup", func(q querier) (*meta.IAMGroup, error) { return q.GetIAMGroup(ctx, name) })
}

// ListIAMGroupsForUser implements meta.IAM on the read pool.
func (s *Store) ListIAMGroupsForUser(ctx context.Context, user string) ([]meta.IAMGroup, error) {
	return read(ctx, s, "ListIAMGroupsForUser", func(q querier) ([]meta.IAMGroup, error) { return q.ListIAMGroupsForUser(ctx, user) })
}

// ListIAMGroupMembers implements meta.IAM on the read pool.
func (s *Store) ListIAMGroupMembers(ctx context.Context, group string) ([]string, error) {
	return read(ctx, s, "ListIAMGroupMembers", func(q querier) ([]string, error) { return q.ListIAMGroupMembers(ctx, group) })
}

// CreateIAMUser implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMUser(ctx context.Context, u *meta.IAMUser) error {
	return s.write(ctx, "CreateIAMUser", func(q querier) error { return q.CreateIAMUser(ctx, u) })
}

// DeleteIAMUser implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMUser(ctx context.Context, name string) error {
	return s.write(ctx, "DeleteIAMUser", func(q querier) error { return q.DeleteIAMUser(ctx, name) })
}

// CreateIAMAccessKey implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMAccessKey(ctx context.Context, k *meta.IAMAccessKey) error {
	return s.write(ctx, "CreateIAMAccessKey", func(q querier) error { return q.CreateIAMAccessKey(ctx, k) })
}

// UpdateIAMAccessKeyStatus implements meta.IAM in its own write transaction.
func (s *Store) UpdateIAMAccessKeyStatus(ctx context.Context, id, status string) error {
	return s.write(ctx, "UpdateIAMAccessKeyStatus", func(q querier) error { return q.UpdateIAMAccessKeyStatus(ctx, id, status) })
}

// DeleteIAMAccessKey implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMAccessKey(ctx context.Context, id string) error {
	return s.write(ctx, "DeleteIAMAccessKey", func(q querier) error { return q.DeleteIAMAccessKey(ctx, id) })
}

// PutIAMInlinePolicy implements meta.IAM in its own write transaction.
func (s *Store) PutIAMInlinePolicy(ctx context.Context, p *meta.IAMInlinePolicy) error {
	return s.write(ctx, "PutIAMInlinePolicy", func(q querier) error { return q.PutIAMInlinePolicy(ctx, p) })
}

// DeleteIAMInlinePolicy implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) error {
	return s.write(ctx, "DeleteIAMInlinePolicy", func(q querier) error { return q.DeleteIAMInlinePolicy(ctx, kind, owner, name) })
}

// AttachIAMUserPolicy implements meta.IAM in its own write transaction.
func (s *Store) AttachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return s.write(ctx, "AttachIAMUserPolicy", func(q querier) error { return q.AttachIAMUserPolicy(ctx, user, policyARN) })
}

// DetachIAMUserPolicy implements meta.IAM in its own write transaction.
func (s *Store) DetachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return s.write(ctx, "DetachIAMUserPolicy", func(q querier) error { return q.DetachIAMUserPolicy(ctx, user, policyARN) })
}

// CreateIAMGroup implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMGroup(ctx context.Context, g *meta.IAMGroup) error {
	return s.write(ctx, "CreateIAMGroup", func(q querier) error { return q.CreateIAMGroup(ctx, g) })
}

// DeleteIAMGroup implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMGroup(ctx context.Context, name string) error {
	return s.write(ctx, "DeleteIAMGroup", func(q querier) error { return q.DeleteIAMGroup(ctx, name) })
}

// AddIAMUserToGroup implements meta.IAM in its own write transaction.
func (s *Store) AddIAMUserToGroup(ctx context.Context, group, user string) error {
	return s.write(ctx, "AddIAMUserToGroup", func(q querier) error { return q.AddIAMUserToGroup(ctx, group, user) })
}

// RemoveIAMUserFromGroup implements meta.IAM in its own write transaction.
func (s *Store) RemoveIAMUserFromGroup(ctx context.Context, group, user string) error {
	return s.write(ctx, "RemoveIAMUserFromGroup", func(q querier) error { return q.RemoveIAMUserFromGroup(ctx, group, user) })
}
