package sqlite

// Generated-style wrappers routing meta.IAM for Store and querier.

import (
	"context"

	"github.com/berth-registry/berth/internal/meta"
)

var _ meta.IAM = (*Store)(nil)
var _ meta.IAM = (*querier)(nil)

// GetIAMUser implements meta.IAM on the read pool.
func (s *Store) GetIAMUser(ctx context.Context, name string) (*meta.IAMUser, error) {
	return iamSQL{plainConn{s.r}}.GetIAMUser(ctx, name)
}

// GetIAMUser implements meta.IAM in the transaction.
func (q *querier) GetIAMUser(ctx context.Context, name string) (*meta.IAMUser, error) {
	return q.iam().GetIAMUser(ctx, name)
}

// GetIAMUserByID implements meta.IAM on the read pool.
func (s *Store) GetIAMUserByID(ctx context.Context, userID string) (*meta.IAMUser, error) {
	return iamSQL{plainConn{s.r}}.GetIAMUserByID(ctx, userID)
}

// GetIAMUserByID implements meta.IAM in the transaction.
func (q *querier) GetIAMUserByID(ctx context.Context, userID string) (*meta.IAMUser, error) {
	return q.iam().GetIAMUserByID(ctx, userID)
}

// ListIAMUsers implements meta.IAM on the read pool.
func (s *Store) ListIAMUsers(ctx context.Context, pathPrefix, after string, limit int) ([]meta.IAMUser, error) {
	return iamSQL{plainConn{s.r}}.ListIAMUsers(ctx, pathPrefix, after, limit)
}

// ListIAMUsers implements meta.IAM in the transaction.
func (q *querier) ListIAMUsers(ctx context.Context, pathPrefix, after string, limit int) ([]meta.IAMUser, error) {
	return q.iam().ListIAMUsers(ctx, pathPrefix, after, limit)
}

// GetIAMAccessKey implements meta.IAM on the read pool.
func (s *Store) GetIAMAccessKey(ctx context.Context, id string) (*meta.IAMAccessKey, error) {
	return iamSQL{plainConn{s.r}}.GetIAMAccessKey(ctx, id)
}

// GetIAMAccessKey implements meta.IAM in the transaction.
func (q *querier) GetIAMAccessKey(ctx context.Context, id string) (*meta.IAMAccessKey, error) {
	return q.iam().GetIAMAccessKey(ctx, id)
}

// ListIAMAccessKeys implements meta.IAM on the read pool.
func (s *Store) ListIAMAccessKeys(ctx context.Context, userName string) ([]meta.IAMAccessKey, error) {
	return iamSQL{plainConn{s.r}}.ListIAMAccessKeys(ctx, userName)
}

// ListIAMAccessKeys implements meta.IAM in the transaction.
func (q *querier) ListIAMAccessKeys(ctx context.Context, userName string) ([]meta.IAMAccessKey, error) {
	return q.iam().ListIAMAccessKeys(ctx, userName)
}

// GetIAMInlinePolicy implements meta.IAM on the read pool.
func (s *Store) GetIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) (*meta.IAMInlinePolicy, error) {
	return iamSQL{plainConn{s.r}}.GetIAMInlinePolicy(ctx, kind, owner, name)
}

// GetIAMInlinePolicy implements meta.IAM in the transaction.
func (q *querier) GetIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) (*meta.IAMInlinePolicy, error) {
	return q.iam().GetIAMInlinePolicy(ctx, kind, owner, name)
}

// ListIAMInlinePolicies implements meta.IAM on the read pool.
func (s *Store) ListIAMInlinePolicies(ctx context.Context, kind meta.IAMPolicyOwner, owner string) ([]meta.IAMInlinePolicy, error) {
	return iamSQL{plainConn{s.r}}.ListIAMInlinePolicies(ctx, kind, owner)
}

// ListIAMInlinePolicies implements meta.IAM in the transaction.
func (q *querier) ListIAMInlinePolicies(ctx context.Context, kind meta.IAMPolicyOwner, owner string) ([]meta.IAMInlinePolicy, error) {
	return q.iam().ListIAMInlinePolicies(ctx, kind, owner)
}

// ListIAMAttachedUserPolicies implements meta.IAM on the read pool.
func (s *Store) ListIAMAttachedUserPolicies(ctx context.Context, user string) ([]string, error) {
	return iamSQL{plainConn{s.r}}.ListIAMAttachedUserPolicies(ctx, user)
}

// ListIAMAttachedUserPolicies implements meta.IAM in the transaction.
func (q *querier) ListIAMAttachedUserPolicies(ctx context.Context, user string) ([]string, error) {
	return q.iam().ListIAMAttachedUserPolicies(ctx, user)
}

// GetIAMGroup implements meta.IAM on the read pool.
func (s *Store) GetIAMGroup(ctx context.Context, name string) (*meta.IAMGroup, error) {
	return iamSQL{plainConn{s.r}}.GetIAMGroup(ctx, name)
}

// GetIAMGroup implements meta.IAM in the transaction.
func (q *querier) GetIAMGroup(ctx context.Context, name string) (*meta.IAMGroup, error) {
	return q.iam().GetIAMGroup(ctx, name)
}

// ListIAMGroupsForUser implements meta.IAM on the read pool.
func (s *Store) ListIAMGroupsForUser(ctx context.Context, user string) ([]meta.IAMGroup, error) {
	return iamSQL{plainConn{s.r}}.ListIAMGroupsForUser(ctx, user)
}

// ListIAMGroupsForUser implements meta.IAM in the transaction.
func (q *querier) ListIAMGroupsForUser(ctx context.Context, user string) ([]meta.IAMGroup, error) {
	return q.iam().ListIAMGroupsForUser(ctx, user)
}

// ListIAMGroupMembers implements meta.IAM on the read pool.
func (s *Store) ListIAMGroupMembers(ctx context.Context, group string) ([]string, error) {
	return iamSQL{plainConn{s.r}}.ListIAMGroupMembers(ctx, group)
}

// ListIAMGroupMembers implements meta.IAM in the transaction.
func (q *querier) ListIAMGroupMembers(ctx context.Context, group string) ([]string, error) {
	return q.iam().ListIAMGroupMembers(ctx, group)
}

// CreateIAMUser implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMUser(ctx context.Context, u *meta.IAMUser) error {
	return s.write(ctx, func(q *querier) error { return q.CreateIAMUser(ctx, u) })
}

// CreateIAMUser implements meta.IAM in the transaction.
func (q *querier) CreateIAMUser(ctx context.Context, u *meta.IAMUser) error {
	return q.iam().CreateIAMUser(ctx, u)
}

// DeleteIAMUser implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMUser(ctx context.Context, name string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteIAMUser(ctx, name) })
}

// DeleteIAMUser implements meta.IAM in the transaction.
func (q *querier) DeleteIAMUser(ctx context.Context, name string) error {
	return q.iam().DeleteIAMUser(ctx, name)
}

// CreateIAMAccessKey implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMAccessKey(ctx context.Context, k *meta.IAMAccessKey) error {
	return s.write(ctx, func(q *querier) error { return q.CreateIAMAccessKey(ctx, k) })
}

// CreateIAMAccessKey implements meta.IAM in the transaction.
func (q *querier) CreateIAMAccessKey(ctx context.Context, k *meta.IAMAccessKey) error {
	return q.iam().CreateIAMAccessKey(ctx, k)
}

// UpdateIAMAccessKeyStatus implements meta.IAM in its own write transaction.
func (s *Store) UpdateIAMAccessKeyStatus(ctx context.Context, id, status string) error {
	return s.write(ctx, func(q *querier) error { return q.UpdateIAMAccessKeyStatus(ctx, id, status) })
}

// UpdateIAMAccessKeyStatus implements meta.IAM in the transaction.
func (q *querier) UpdateIAMAccessKeyStatus(ctx context.Context, id, status string) error {
	return q.iam().UpdateIAMAccessKeyStatus(ctx, id, status)
}

// DeleteIAMAccessKey implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMAccessKey(ctx context.Context, id string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteIAMAccessKey(ctx, id) })
}

// DeleteIAMAccessKey implements meta.IAM in the transaction.
func (q *querier) DeleteIAMAccessKey(ctx context.Context, id string) error {
	return q.iam().DeleteIAMAccessKey(ctx, id)
}

// PutIAMInlinePolicy implements meta.IAM in its own write transaction.
func (s *Store) PutIAMInlinePolicy(ctx context.Context, p *meta.IAMInlinePolicy) error {
	return s.write(ctx, func(q *querier) error { return q.PutIAMInlinePolicy(ctx, p) })
}

// PutIAMInlinePolicy implements meta.IAM in the transaction.
func (q *querier) PutIAMInlinePolicy(ctx context.Context, p *meta.IAMInlinePolicy) error {
	return q.iam().PutIAMInlinePolicy(ctx, p)
}

// DeleteIAMInlinePolicy implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteIAMInlinePolicy(ctx, kind, owner, name) })
}

// DeleteIAMInlinePolicy implements meta.IAM in the transaction.
func (q *querier) DeleteIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) error {
	return q.iam().DeleteIAMInlinePolicy(ctx, kind, owner, name)
}

// AttachIAMUserPolicy implements meta.IAM in its own write transaction.
func (s *Store) AttachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return s.write(ctx, func(q *querier) error { return q.AttachIAMUserPolicy(ctx, user, policyARN) })
}

// AttachIAMUserPolicy implements meta.IAM in the transaction.
func (q *querier) AttachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return q.iam().AttachIAMUserPolicy(ctx, user, policyARN)
}

// DetachIAMUserPolicy implements meta.IAM in its own write transaction.
func (s *Store) DetachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return s.write(ctx, func(q *querier) error { return q.DetachIAMUserPolicy(ctx, user, policyARN) })
}

// DetachIAMUserPolicy implements meta.IAM in the transaction.
func (q *querier) DetachIAMUserPolicy(ctx context.Context, user, policyARN string) error {
	return q.iam().DetachIAMUserPolicy(ctx, user, policyARN)
}

// CreateIAMGroup implements meta.IAM in its own write transaction.
func (s *Store) CreateIAMGroup(ctx context.Context, g *meta.IAMGroup) error {
	return s.write(ctx, func(q *querier) error { return q.CreateIAMGroup(ctx, g) })
}

// CreateIAMGroup implements meta.IAM in the transaction.
func (q *querier) CreateIAMGroup(ctx context.Context, g *meta.IAMGroup) error {
	return q.iam().CreateIAMGroup(ctx, g)
}

// DeleteIAMGroup implements meta.IAM in its own write transaction.
func (s *Store) DeleteIAMGroup(ctx context.Context, name string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteIAMGroup(ctx, name) })
}

// DeleteIAMGroup implements meta.IAM in the transaction.
func (q *querier) DeleteIAMGroup(ctx context.Context, name string) error {
	return q.iam().DeleteIAMGroup(ctx, name)
}

// AddIAMUserToGroup implements meta.IAM in its own write transaction.
func (s *Store) AddIAMUserToGroup(ctx context.Context, group, user string) error {
	return s.write(ctx, func(q *querier) error { return q.AddIAMUserToGroup(ctx, group, user) })
}

// AddIAMUserToGroup implements meta.IAM in the transaction.
func (q *querier) AddIAMUserToGroup(ctx context.Context, group, user string) error {
	return q.iam().AddIAMUserToGroup(ctx, group, user)
}

// RemoveIAMUserFromGroup implements meta.IAM in its own write transaction.
func (s *Store) RemoveIAMUserFromGroup(ctx context.Context, group, user string) error {
	return s.write(ctx, func(q *querier) error { return q.RemoveIAMUserFromGroup(ctx, group, user) })
}

// RemoveIAMUserFromGroup implements meta.IAM in the transaction.
func (q *querier) RemoveIAMUserFromGroup(ctx context.Context, group, user string) error {
	return q.iam().RemoveIAMUserFromGroup(ctx, group, user)
}
