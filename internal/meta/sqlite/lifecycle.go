// Lifecycle policies, previews, image states, leases and pull-time
// exclusions (meta.LifecycleQueries) with plain statements.

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

const (
	sqlPutLifecyclePolicy = `INSERT INTO lifecycle_policies (repository, policy_text, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (repository) DO UPDATE SET policy_text = excluded.policy_text, updated_at = excluded.updated_at`
	sqlGetLifecyclePolicy = `SELECT repository, policy_text, updated_at, last_evaluated_at
		FROM lifecycle_policies WHERE repository = $1`
	sqlDeleteLifecyclePolicy = `DELETE FROM lifecycle_policies WHERE repository = $1`
	sqlSetLifecycleEvaluated = `UPDATE lifecycle_policies SET last_evaluated_at = $2 WHERE repository = $1`
	sqlListLifecyclePolicies = `SELECT repository, policy_text, updated_at, last_evaluated_at
		FROM lifecycle_policies WHERE repository > $1 ORDER BY repository LIMIT $2`
	sqlStartLifecyclePreview = `INSERT INTO lifecycle_previews (repository, status, policy_text, results, started_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (repository) DO UPDATE SET status = excluded.status, policy_text = excluded.policy_text,
			results = excluded.results, started_at = excluded.started_at, updated_at = excluded.updated_at
		WHERE lifecycle_previews.status <> 'IN_PROGRESS' OR lifecycle_previews.updated_at < $7`
	sqlFinishLifecyclePreview = `UPDATE lifecycle_previews SET status = $3, results = $4, updated_at = $5
		WHERE repository = $1 AND started_at = $2`
	sqlGetLifecyclePreview = `SELECT repository, status, policy_text, results, started_at, updated_at
		FROM lifecycle_previews WHERE repository = $1`
	sqlSetImageState = `INSERT INTO image_states (repository, digest, status, last_archived_at, last_activated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (repository, digest) DO UPDATE SET status = excluded.status,
			last_archived_at = excluded.last_archived_at, last_activated_at = excluded.last_activated_at`
	sqlGetImageState = `SELECT repository, digest, status, last_archived_at, last_activated_at
		FROM image_states WHERE repository = $1 AND digest = $2`
	sqlListImageStates = `SELECT repository, digest, status, last_archived_at, last_activated_at
		FROM image_states WHERE repository = $1 ORDER BY digest`
	sqlAcquireLease = `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $3`
	sqlReleaseLease            = `DELETE FROM leases WHERE name = $1 AND holder = $2`
	sqlCreatePullTimeExclusion = `INSERT INTO pull_time_exclusions (principal_arn, created_at) VALUES ($1, $2)`
	sqlDeletePullTimeExclusion = `DELETE FROM pull_time_exclusions WHERE principal_arn = $1`
	sqlListPullTimeExclusions  = `SELECT principal_arn, created_at FROM pull_time_exclusions
		WHERE principal_arn > $1 ORDER BY principal_arn LIMIT $2`
)

// lcq implements meta.LifecycleQueries on a connection.
type lcq struct{ plainConn }

// lc returns the lifecycle querier of q. The read-pool querier is reached
// only through Store, which routes lifecycle reads to the read pool itself.
func (q *querier) lc() lcq { return lcq{q.plain()} }

func (l lcq) PutLifecyclePolicy(ctx context.Context, p *meta.LifecyclePolicy) error {
	if _, err := l.exec(ctx, sqlPutLifecyclePolicy, p.Repository, p.Text, nanos(p.UpdatedAt)); err != nil {
		return fmt.Errorf("put lifecycle policy of %s: %w", p.Repository, err)
	}
	return nil
}

func scanPolicy(s scanner) (*meta.LifecyclePolicy, error) {
	var p meta.LifecyclePolicy
	var updated int64
	var evaluated sql.NullInt64
	if err := s.Scan(&p.Repository, &p.Text, &updated, &evaluated); err != nil {
		return nil, classify(err)
	}
	p.UpdatedAt = fromNanos(updated)
	p.LastEvaluatedAt = fromNullNanos(evaluated)
	return &p, nil
}

func (l lcq) GetLifecyclePolicy(ctx context.Context, repo string) (*meta.LifecyclePolicy, error) {
	row := l.row(ctx, sqlGetLifecyclePolicy, repo)
	p, err := scanPolicy(row)
	if err != nil {
		return nil, fmt.Errorf("get lifecycle policy of %s: %w", repo, err)
	}
	return p, nil
}

func (l lcq) DeleteLifecyclePolicy(ctx context.Context, repo string) error {
	if err := l.execOne(ctx, sqlDeleteLifecyclePolicy, repo); err != nil {
		return fmt.Errorf("delete lifecycle policy of %s: %w", repo, err)
	}
	return nil
}

func (l lcq) SetLifecycleEvaluated(ctx context.Context, repo string, at time.Time) error {
	if err := l.execOne(ctx, sqlSetLifecycleEvaluated, repo, nanos(at)); err != nil {
		return fmt.Errorf("set lifecycle evaluation time of %s: %w", repo, err)
	}
	return nil
}

func (l lcq) ListLifecyclePolicies(ctx context.Context, after string, limit int) ([]meta.LifecyclePolicy, error) {
	rows, err := l.rows(ctx, sqlListLifecyclePolicies, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list lifecycle policies: %w", err)
	}
	defer rows.Close()
	var out []meta.LifecyclePolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list lifecycle policies: %w", err)
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list lifecycle policies: %w", classify(err))
	}
	return out, nil
}

func (l lcq) StartLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview, staleBefore time.Time) error {
	n, err := l.exec(ctx, sqlStartLifecyclePreview, p.Repository, p.Status, p.PolicyText, p.Results,
		nanos(p.StartedAt), nanos(p.UpdatedAt), nanos(staleBefore))
	if err == nil && n == 0 {
		err = meta.ErrExists
	}
	if err != nil {
		return fmt.Errorf("start lifecycle preview of %s: %w", p.Repository, err)
	}
	return nil
}

func (l lcq) FinishLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview) error {
	if err := l.execOne(ctx, sqlFinishLifecyclePreview,
		p.Repository, nanos(p.StartedAt), p.Status, p.Results, nanos(p.UpdatedAt)); err != nil {
		return fmt.Errorf("finish lifecycle preview of %s: %w", p.Repository, err)
	}
	return nil
}

func (l lcq) GetLifecyclePreview(ctx context.Context, repo string) (*meta.LifecyclePreview, error) {
	row := l.row(ctx, sqlGetLifecyclePreview, repo)
	var p meta.LifecyclePreview
	var started, updated int64
	if err := row.Scan(&p.Repository, &p.Status, &p.PolicyText, &p.Results, &started, &updated); err != nil {
		return nil, fmt.Errorf("get lifecycle preview of %s: %w", repo, classify(err))
	}
	p.StartedAt, p.UpdatedAt = fromNanos(started), fromNanos(updated)
	return &p, nil
}

func (l lcq) SetImageState(ctx context.Context, st *meta.ImageState) error {
	if _, err := l.exec(ctx, sqlSetImageState, st.Repository, string(st.Digest), st.Status,
		nullNanos(st.LastArchivedAt), nullNanos(st.LastActivatedAt)); err != nil {
		return fmt.Errorf("set image state of %s@%s: %w", st.Repository, st.Digest, err)
	}
	return nil
}

func scanImageState(s scanner) (*meta.ImageState, error) {
	var st meta.ImageState
	var d string
	var archived, activated sql.NullInt64
	if err := s.Scan(&st.Repository, &d, &st.Status, &archived, &activated); err != nil {
		return nil, classify(err)
	}
	st.Digest = digest.Digest(d)
	st.LastArchivedAt, st.LastActivatedAt = fromNullNanos(archived), fromNullNanos(activated)
	return &st, nil
}

func (l lcq) GetImageState(ctx context.Context, repo string, dgst digest.Digest) (*meta.ImageState, error) {
	row := l.row(ctx, sqlGetImageState, repo, string(dgst))
	st, err := scanImageState(row)
	if err != nil {
		return nil, fmt.Errorf("get image state of %s@%s: %w", repo, dgst, err)
	}
	return st, nil
}

func (l lcq) ListImageStates(ctx context.Context, repo string) ([]meta.ImageState, error) {
	rows, err := l.rows(ctx, sqlListImageStates, repo)
	if err != nil {
		return nil, fmt.Errorf("list image states of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []meta.ImageState
	for rows.Next() {
		st, err := scanImageState(rows)
		if err != nil {
			return nil, fmt.Errorf("list image states of %s: %w", repo, err)
		}
		out = append(out, *st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list image states of %s: %w", repo, classify(err))
	}
	return out, nil
}

func (l lcq) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	n, err := l.exec(ctx, sqlAcquireLease, name, holder, nanos(now), nanos(until))
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return n > 0, nil
}

func (l lcq) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := l.exec(ctx, sqlReleaseLease, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

func (l lcq) CreatePullTimeExclusion(ctx context.Context, e *meta.PullTimeExclusion) error {
	if _, err := l.exec(ctx, sqlCreatePullTimeExclusion, e.PrincipalARN, nanos(e.CreatedAt)); err != nil {
		return fmt.Errorf("create pull-time exclusion %s: %w", e.PrincipalARN, err)
	}
	return nil
}

func (l lcq) DeletePullTimeExclusion(ctx context.Context, principalARN string) error {
	if err := l.execOne(ctx, sqlDeletePullTimeExclusion, principalARN); err != nil {
		return fmt.Errorf("delete pull-time exclusion %s: %w", principalARN, err)
	}
	return nil
}

func (l lcq) ListPullTimeExclusions(ctx context.Context, after string, limit int) ([]meta.PullTimeExclusion, error) {
	rows, err := l.rows(ctx, sqlListPullTimeExclusions, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list pull-time exclusions: %w", err)
	}
	defer rows.Close()
	var out []meta.PullTimeExclusion
	for rows.Next() {
		var e meta.PullTimeExclusion
		var created int64
		if err := rows.Scan(&e.PrincipalARN, &created); err != nil {
			return nil, fmt.Errorf("list pull-time exclusions: %w", classify(err))
		}
		e.CreatedAt = fromNanos(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pull-time exclusions: %w", classify(err))
	}
	return out, nil
}

// querier and Store routing of meta.LifecycleQueries.

// PutLifecyclePolicy implements meta.LifecycleQueries.
func (q *querier) PutLifecyclePolicy(ctx context.Context, p *meta.LifecyclePolicy) error {
	return q.lc().PutLifecyclePolicy(ctx, p)
}

// PutLifecyclePolicy implements meta.LifecycleQueries in its own write transaction.
func (s *Store) PutLifecyclePolicy(ctx context.Context, p *meta.LifecyclePolicy) error {
	return s.write(ctx, func(q *querier) error { return q.lc().PutLifecyclePolicy(ctx, p) })
}

// GetLifecyclePolicy implements meta.LifecycleQueries.
func (q *querier) GetLifecyclePolicy(ctx context.Context, repo string) (*meta.LifecyclePolicy, error) {
	return q.lc().GetLifecyclePolicy(ctx, repo)
}

// GetLifecyclePolicy implements meta.LifecycleQueries on the read pool.
func (s *Store) GetLifecyclePolicy(ctx context.Context, repo string) (*meta.LifecyclePolicy, error) {
	return lcq{plainConn{s.r}}.GetLifecyclePolicy(ctx, repo)
}

// DeleteLifecyclePolicy implements meta.LifecycleQueries.
func (q *querier) DeleteLifecyclePolicy(ctx context.Context, repo string) error {
	return q.lc().DeleteLifecyclePolicy(ctx, repo)
}

// DeleteLifecyclePolicy implements meta.LifecycleQueries in its own write transaction.
func (s *Store) DeleteLifecyclePolicy(ctx context.Context, repo string) error {
	return s.write(ctx, func(q *querier) error { return q.lc().DeleteLifecyclePolicy(ctx, repo) })
}

// SetLifecycleEvaluated implements meta.LifecycleQueries.
func (q *querier) SetLifecycleEvaluated(ctx context.Context, repo string, at time.Time) error {
	return q.lc().SetLifecycleEvaluated(ctx, repo, at)
}

// SetLifecycleEvaluated implements meta.LifecycleQueries in its own write transaction.
func (s *Store) SetLifecycleEvaluated(ctx context.Context, repo string, at time.Time) error {
	return s.write(ctx, func(q *querier) error { return q.lc().SetLifecycleEvaluated(ctx, repo, at) })
}

// ListLifecyclePolicies implements meta.LifecycleQueries.
func (q *querier) ListLifecyclePolicies(ctx context.Context, after string, limit int) ([]meta.LifecyclePolicy, error) {
	return q.lc().ListLifecyclePolicies(ctx, after, limit)
}

// ListLifecyclePolicies implements meta.LifecycleQueries on the read pool.
func (s *Store) ListLifecyclePolicies(ctx context.Context, after string, limit int) ([]meta.LifecyclePolicy, error) {
	return lcq{plainConn{s.r}}.ListLifecyclePolicies(ctx, after, limit)
}

// StartLifecyclePreview implements meta.LifecycleQueries.
func (q *querier) StartLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview, staleBefore time.Time) error {
	return q.lc().StartLifecyclePreview(ctx, p, staleBefore)
}

// StartLifecyclePreview implements meta.LifecycleQueries in its own write transaction.
func (s *Store) StartLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview, staleBefore time.Time) error {
	return s.write(ctx, func(q *querier) error { return q.lc().StartLifecyclePreview(ctx, p, staleBefore) })
}

// FinishLifecyclePreview implements meta.LifecycleQueries.
func (q *querier) FinishLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview) error {
	return q.lc().FinishLifecyclePreview(ctx, p)
}

// FinishLifecyclePreview implements meta.LifecycleQueries in its own write transaction.
func (s *Store) FinishLifecyclePreview(ctx context.Context, p *meta.LifecyclePreview) error {
	return s.write(ctx, func(q *querier) error { return q.lc().FinishLifecyclePreview(ctx, p) })
}

// GetLifecyclePreview implements meta.LifecycleQueries.
func (q *querier) GetLifecyclePreview(ctx context.Context, repo string) (*meta.LifecyclePreview, error) {
	return q.lc().GetLifecyclePreview(ctx, repo)
}

// GetLifecyclePreview implements meta.LifecycleQueries on the read pool.
func (s *Store) GetLifecyclePreview(ctx context.Context, repo string) (*meta.LifecyclePreview, error) {
	return lcq{plainConn{s.r}}.GetLifecyclePreview(ctx, repo)
}

// SetImageState implements meta.LifecycleQueries.
func (q *querier) SetImageState(ctx context.Context, st *meta.ImageState) error {
	return q.lc().SetImageState(ctx, st)
}

// SetImageState implements meta.LifecycleQueries in its own write transaction.
func (s *Store) SetImageState(ctx context.Context, st *meta.ImageState) error {
	return s.write(ctx, func(q *querier) error { return q.lc().SetImageState(ctx, st) })
}

// GetImageState implements meta.LifecycleQueries.
func (q *querier) GetImageState(ctx context.Context, repo string, dgst digest.Digest) (*meta.ImageState, error) {
	return q.lc().GetImageState(ctx, repo, dgst)
}

// GetImageState implements meta.LifecycleQueries on the read pool.
func (s *Store) GetImageState(ctx context.Context, repo string, dgst digest.Digest) (*meta.ImageState, error) {
	return lcq{plainConn{s.r}}.GetImageState(ctx, repo, dgst)
}

// ListImageStates implements meta.LifecycleQueries.
func (q *querier) ListImageStates(ctx context.Context, repo string) ([]meta.ImageState, error) {
	return q.lc().ListImageStates(ctx, repo)
}

// ListImageStates implements meta.LifecycleQueries on the read pool.
func (s *Store) ListImageStates(ctx context.Context, repo string) ([]meta.ImageState, error) {
	return lcq{plainConn{s.r}}.ListImageStates(ctx, repo)
}

// AcquireLease implements meta.LifecycleQueries.
func (q *querier) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	return q.lc().AcquireLease(ctx, name, holder, now, until)
}

// AcquireLease implements meta.LifecycleQueries in its own write transaction.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (ok bool, err error) {
	err = s.write(ctx, func(q *querier) error {
		ok, err = q.lc().AcquireLease(ctx, name, holder, now, until)
		return err
	})
	return ok, err
}

// ReleaseLease implements meta.LifecycleQueries.
func (q *querier) ReleaseLease(ctx context.Context, name, holder string) error {
	return q.lc().ReleaseLease(ctx, name, holder)
}

// ReleaseLease implements meta.LifecycleQueries in its own write transaction.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.write(ctx, func(q *querier) error { return q.lc().ReleaseLease(ctx, name, holder) })
}

// CreatePullTimeExclusion implements meta.LifecycleQueries.
func (q *querier) CreatePullTimeExclusion(ctx context.Context, e *meta.PullTimeExclusion) error {
	return q.lc().CreatePullTimeExclusion(ctx, e)
}

// CreatePullTimeExclusion implements meta.LifecycleQueries in its own write transaction.
func (s *Store) CreatePullTimeExclusion(ctx context.Context, e *meta.PullTimeExclusion) error {
	return s.write(ctx, func(q *querier) error { return q.lc().CreatePullTimeExclusion(ctx, e) })
}

// DeletePullTimeExclusion implements meta.LifecycleQueries.
func (q *querier) DeletePullTimeExclusion(ctx context.Context, principalARN string) error {
	return q.lc().DeletePullTimeExclusion(ctx, principalARN)
}

// DeletePullTimeExclusion implements meta.LifecycleQueries in its own write transaction.
func (s *Store) DeletePullTimeExclusion(ctx context.Context, principalARN string) error {
	return s.write(ctx, func(q *querier) error { return q.lc().DeletePullTimeExclusion(ctx, principalARN) })
}

// ListPullTimeExclusions implements meta.LifecycleQueries.
func (q *querier) ListPullTimeExclusions(ctx context.Context, after string, limit int) ([]meta.PullTimeExclusion, error) {
	return q.lc().ListPullTimeExclusions(ctx, after, limit)
}

// ListPullTimeExclusions implements meta.LifecycleQueries on the read pool.
func (s *Store) ListPullTimeExclusions(ctx context.Context, after string, limit int) ([]meta.PullTimeExclusion, error) {
	return lcq{plainConn{s.r}}.ListPullTimeExclusions(ctx, after, limit)
}
