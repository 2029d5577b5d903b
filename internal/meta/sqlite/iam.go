package sqlite

// meta.IAM for SQLite: plain SQL (not the prepared-statement table), on the
// read pool for Store reads and inside a write transaction otherwise.

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-registry/berth/internal/meta"
)

// iamSQL implements meta.IAM on a runner.
type iamSQL struct{ plainConn }

func iamKey(name string) string { return strings.ToLower(name) }

func (x iamSQL) CreateIAMUser(ctx context.Context, u *meta.IAMUser) error {
	_, err := x.exec(ctx, `INSERT INTO iam_users (name_key, name, path, user_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
		iamKey(u.Name), u.Name, u.Path, u.UserID, nanos(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("create iam user %s: %w", u.Name, err)
	}
	return nil
}

const iamUserCols = `name, path, user_id, created_at`

func scanIAMUser(sc scanner) (*meta.IAMUser, error) {
	var u meta.IAMUser
	var created int64
	if err := sc.Scan(&u.Name, &u.Path, &u.UserID, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromNanos(created)
	return &u, nil
}

func (x iamSQL) GetIAMUser(ctx context.Context, name string) (*meta.IAMUser, error) {
	u, err := scanIAMUser(x.db.QueryRowContext(ctx, `SELECT `+iamUserCols+` FROM iam_users WHERE name_key = $1`, iamKey(name)))
	if err != nil {
		return nil, fmt.Errorf("get iam user %s: %w", name, classify(err))
	}
	return u, nil
}

func (x iamSQL) GetIAMUserByID(ctx context.Context, id string) (*meta.IAMUser, error) {
	u, err := scanIAMUser(x.db.QueryRowContext(ctx, `SELECT `+iamUserCols+` FROM iam_users WHERE user_id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get iam user by id %s: %w", id, classify(err))
	}
	return u, nil
}

func (x iamSQL) ListIAMUsers(ctx context.Context, pathPrefix, after string, limit int) ([]meta.IAMUser, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT `+iamUserCols+` FROM iam_users
		WHERE name_key > $1 AND substr(path, 1, length($2)) = $2 ORDER BY name_key LIMIT $3`,
		iamKey(after), pathPrefix, limit)
	if err != nil {
		return nil, fmt.Errorf("list iam users: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.IAMUser
	for rows.Next() {
		u, err := scanIAMUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list iam users: %w", err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list iam users: %w", classify(err))
	}
	return out, nil
}

func (x iamSQL) DeleteIAMUser(ctx context.Context, name string) error {
	if err := x.execOne(ctx, `DELETE FROM iam_users WHERE name_key = $1`, iamKey(name)); err != nil {
		return fmt.Errorf("delete iam user %s: %w", name, err)
	}
	return nil
}

func (x iamSQL) CreateIAMAccessKey(ctx context.Context, k *meta.IAMAccessKey) error {
	_, err := x.exec(ctx, `INSERT INTO iam_access_keys (id, user_key, sealed_secret, status, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, iamKey(k.UserName), k.SealedSecret, k.Status, nanos(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("create iam access key: %w", err)
	}
	return nil
}

const iamKeyCols = `k.id, u.name, k.sealed_secret, k.status, k.created_at`

func scanIAMKey(sc scanner) (*meta.IAMAccessKey, error) {
	var k meta.IAMAccessKey
	var created int64
	if err := sc.Scan(&k.ID, &k.UserName, &k.SealedSecret, &k.Status, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = fromNanos(created)
	return &k, nil
}

func (x iamSQL) GetIAMAccessKey(ctx context.Context, id string) (*meta.IAMAccessKey, error) {
	k, err := scanIAMKey(x.db.QueryRowContext(ctx, `SELECT `+iamKeyCols+`
		FROM iam_access_keys k JOIN iam_users u ON u.name_key = k.user_key WHERE k.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get iam access key: %w", classify(err))
	}
	return k, nil
}

func (x iamSQL) ListIAMAccessKeys(ctx context.Context, userName string) ([]meta.IAMAccessKey, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT `+iamKeyCols+`
		FROM iam_access_keys k JOIN iam_users u ON u.name_key = k.user_key
		WHERE k.user_key = $1 ORDER BY k.created_at, k.id`, iamKey(userName))
	if err != nil {
		return nil, fmt.Errorf("list iam access keys: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.IAMAccessKey
	for rows.Next() {
		k, err := scanIAMKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list iam access keys: %w", err)
		}
		out = append(out, *k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list iam access keys: %w", classify(err))
	}
	return out, nil
}

func (x iamSQL) UpdateIAMAccessKeyStatus(ctx context.Context, id, status string) error {
	if err := x.execOne(ctx, `UPDATE iam_access_keys SET status = $2 WHERE id = $1`, id, status); err != nil {
		return fmt.Errorf("update iam access key: %w", err)
	}
	return nil
}

func (x iamSQL) DeleteIAMAccessKey(ctx context.Context, id string) error {
	if err := x.execOne(ctx, `DELETE FROM iam_access_keys WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete iam access key: %w", err)
	}
	return nil
}

// policyTable returns the inline policy table and owner table for kind.
func policyTable(kind meta.IAMPolicyOwner) (policies, owners string, err error) {
	switch kind {
	case meta.IAMOwnerUser:
		return "iam_user_policies", "iam_users", nil
	case meta.IAMOwnerGroup:
		return "iam_group_policies", "iam_groups", nil
	}
	return "", "", fmt.Errorf("unknown inline policy owner kind %q", kind)
}

func (x iamSQL) PutIAMInlinePolicy(ctx context.Context, p *meta.IAMInlinePolicy) error {
	table, _, err := policyTable(p.OwnerKind)
	if err != nil {
		return err
	}
	_, err = x.exec(ctx, `INSERT INTO `+table+` (owner_key, name, document) VALUES ($1, $2, $3)
		ON CONFLICT (owner_key, name) DO UPDATE SET document = excluded.document`,
		iamKey(p.Owner), p.Name, p.Document)
	if err != nil {
		return fmt.Errorf("put %s policy %s: %w", p.OwnerKind, p.Name, err)
	}
	return nil
}

func (x iamSQL) GetIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) (*meta.IAMInlinePolicy, error) {
	table, owners, err := policyTable(kind)
	if err != nil {
		return nil, err
	}
	p := meta.IAMInlinePolicy{OwnerKind: kind, Name: name}
	err = x.db.QueryRowContext(ctx, `SELECT o.name, p.document FROM `+table+` p JOIN `+owners+` o ON o.name_key = p.owner_key
		WHERE p.owner_key = $1 AND p.name = $2`, iamKey(owner), name).Scan(&p.Owner, &p.Document)
	if err != nil {
		return nil, fmt.Errorf("get %s policy %s: %w", kind, name, classify(err))
	}
	return &p, nil
}

func (x iamSQL) DeleteIAMInlinePolicy(ctx context.Context, kind meta.IAMPolicyOwner, owner, name string) error {
	table, _, err := policyTable(kind)
	if err != nil {
		return err
	}
	if err := x.execOne(ctx, `DELETE FROM `+table+` WHERE owner_key = $1 AND name = $2`, iamKey(owner), name); err != nil {
		return fmt.Errorf("delete %s policy %s: %w", kind, name, err)
	}
	return nil
}

func (x iamSQL) ListIAMInlinePolicies(ctx context.Context, kind meta.IAMPolicyOwner, owner string) ([]meta.IAMInlinePolicy, error) {
	table, owners, err := policyTable(kind)
	if err != nil {
		return nil, err
	}
	rows, err := x.db.QueryContext(ctx, `SELECT o.name, p.name, p.document FROM `+table+` p JOIN `+owners+` o ON o.name_key = p.owner_key
		WHERE p.owner_key = $1 ORDER BY p.name`, iamKey(owner))
	if err != nil {
		return nil, fmt.Errorf("list %s policies: %w", kind, classify(err))
	}
	defer rows.Close()
	var out []meta.IAMInlinePolicy
	for rows.Next() {
		p := meta.IAMInlinePolicy{OwnerKind: kind}
		if err := rows.Scan(&p.Owner, &p.Name, &p.Document); err != nil {
			return nil, fmt.Errorf("list %s policies: %w", kind, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s policies: %w", kind, classify(err))
	}
	return out, nil
}

func (x iamSQL) AttachIAMUserPolicy(ctx context.Context, user, arn string) error {
	_, err := x.exec(ctx, `INSERT INTO iam_user_attached_policies (user_key, policy_arn) VALUES ($1, $2)
		ON CONFLICT (user_key, policy_arn) DO NOTHING`, iamKey(user), arn)
	if err != nil {
		return fmt.Errorf("attach user policy: %w", err)
	}
	return nil
}

func (x iamSQL) DetachIAMUserPolicy(ctx context.Context, user, arn string) error {
	if err := x.execOne(ctx, `DELETE FROM iam_user_attached_policies WHERE user_key = $1 AND policy_arn = $2`, iamKey(user), arn); err != nil {
		return fmt.Errorf("detach user policy: %w", err)
	}
	return nil
}

func (x iamSQL) column(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := x.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, classify(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, classify(err))
	}
	return out, nil
}

func (x iamSQL) ListIAMAttachedUserPolicies(ctx context.Context, user string) ([]string, error) {
	return x.column(ctx, "list attached user policies",
		`SELECT policy_arn FROM iam_user_attached_policies WHERE user_key = $1 ORDER BY policy_arn`, iamKey(user))
}

const iamGroupCols = `name, path, group_id, created_at`

func scanIAMGroup(sc scanner) (*meta.IAMGroup, error) {
	var g meta.IAMGroup
	var created int64
	if err := sc.Scan(&g.Name, &g.Path, &g.GroupID, &created); err != nil {
		return nil, err
	}
	g.CreatedAt = fromNanos(created)
	return &g, nil
}

func (x iamSQL) CreateIAMGroup(ctx context.Context, g *meta.IAMGroup) error {
	_, err := x.exec(ctx, `INSERT INTO iam_groups (name_key, name, path, group_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
		iamKey(g.Name), g.Name, g.Path, g.GroupID, nanos(g.CreatedAt))
	if err != nil {
		return fmt.Errorf("create iam group %s: %w", g.Name, err)
	}
	return nil
}

func (x iamSQL) GetIAMGroup(ctx context.Context, name string) (*meta.IAMGroup, error) {
	g, err := scanIAMGroup(x.db.QueryRowContext(ctx, `SELECT `+iamGroupCols+` FROM iam_groups WHERE name_key = $1`, iamKey(name)))
	if err != nil {
		return nil, fmt.Errorf("get iam group %s: %w", name, classify(err))
	}
	return g, nil
}

func (x iamSQL) DeleteIAMGroup(ctx context.Context, name string) error {
	if err := x.execOne(ctx, `DELETE FROM iam_groups WHERE name_key = $1`, iamKey(name)); err != nil {
		return fmt.Errorf("delete iam group %s: %w", name, err)
	}
	return nil
}

func (x iamSQL) AddIAMUserToGroup(ctx context.Context, group, user string) error {
	_, err := x.exec(ctx, `INSERT INTO iam_group_members (group_key, user_key) VALUES ($1, $2)
		ON CONFLICT (group_key, user_key) DO NOTHING`, iamKey(group), iamKey(user))
	if err != nil {
		return fmt.Errorf("add user to group: %w", err)
	}
	return nil
}

func (x iamSQL) RemoveIAMUserFromGroup(ctx context.Context, group, user string) error {
	if err := x.execOne(ctx, `DELETE FROM iam_group_members WHERE group_key = $1 AND user_key = $2`, iamKey(group), iamKey(user)); err != nil {
		return fmt.Errorf("remove user from group: %w", err)
	}
	return nil
}

func (x iamSQL) ListIAMGroupsForUser(ctx context.Context, user string) ([]meta.IAMGroup, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT g.name, g.path, g.group_id, g.created_at
		FROM iam_group_members m JOIN iam_groups g ON g.name_key = m.group_key
		WHERE m.user_key = $1 ORDER BY g.name_key`, iamKey(user))
	if err != nil {
		return nil, fmt.Errorf("list groups for user: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.IAMGroup
	for rows.Next() {
		g, err := scanIAMGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups for user: %w", err)
		}
		out = append(out, *g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups for user: %w", classify(err))
	}
	return out, nil
}

func (x iamSQL) ListIAMGroupMembers(ctx context.Context, group string) ([]string, error) {
	return x.column(ctx, "list group members", `SELECT u.name FROM iam_group_members m JOIN iam_users u ON u.name_key = m.user_key
		WHERE m.group_key = $1 ORDER BY u.name_key`, iamKey(group))
}

var _ meta.IAM = iamSQL{}

// iam returns the IAM queries of q.
func (q *querier) iam() iamSQL { return iamSQL{q.plain()} }
