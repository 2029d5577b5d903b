// Image scanning (meta.ScanQueries) with plain statements.

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
	sqlEnqueueScan = `INSERT INTO scan_jobs (repository, digest, enqueued_at) VALUES ($1, $2, $3)
		ON CONFLICT (repository, digest) DO NOTHING`
	sqlClaimScan = `UPDATE scan_jobs SET lease_until = $2, attempts = attempts + 1
		WHERE (repository, digest) = (SELECT repository, digest FROM scan_jobs WHERE lease_until <= $1
			ORDER BY enqueued_at, repository, digest LIMIT 1)
		RETURNING repository, digest, enqueued_at, lease_until, attempts`
	sqlDeleteScanJob  = `DELETE FROM scan_jobs WHERE repository = $1 AND digest = $2`
	scanResultColumns = `repository, digest, status, description, started_at, requested_manually,
		completed_at, packages, findings, source_updated_at`
	sqlPutScanResult = `INSERT INTO scan_results (` + scanResultColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (repository, digest) DO UPDATE SET status = excluded.status, description = excluded.description,
			started_at = excluded.started_at, requested_manually = excluded.requested_manually,
			completed_at = excluded.completed_at, packages = excluded.packages, findings = excluded.findings,
			source_updated_at = excluded.source_updated_at`
	sqlGetScanResult   = `SELECT ` + scanResultColumns + ` FROM scan_results WHERE repository = $1 AND digest = $2`
	sqlListScanResults = `SELECT ` + scanResultColumns + ` FROM scan_results
		WHERE repository > $1 OR (repository = $1 AND digest > $2) ORDER BY repository, digest LIMIT $3`
	sqlPutVuln = `INSERT INTO vulns (id, modified, data) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, data = excluded.data`
	sqlDeleteVulnPackages = `DELETE FROM vuln_packages WHERE vuln_id = $1`
	sqlPutVulnPackage     = `INSERT INTO vuln_packages (ecosystem, name, vuln_id) VALUES ($1, $2, $3)
		ON CONFLICT (ecosystem, name, vuln_id) DO NOTHING`
	sqlVulnsFor = `SELECT v.id, v.modified, v.data FROM vuln_packages p JOIN vulns v ON v.id = p.vuln_id
		WHERE p.ecosystem = $1 AND p.name = $2 ORDER BY v.id`
	sqlAddScanEvent = `INSERT INTO scan_events (repository, digest, status, counts, at) VALUES ($1, $2, $3, $4, $5)
		RETURNING id`
	sqlListScanEvents = `SELECT id, repository, digest, status, counts, at FROM scan_events
		WHERE id > $1 ORDER BY id LIMIT $2`
)

// scq implements meta.ScanQueries on a connection.
type scq struct{ plainConn }

func (q *querier) scan() scq { return scq{q.plain()} }

func (c scq) EnqueueScan(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	if _, err := c.exec(ctx, sqlEnqueueScan, repo, dgst.String(), nanos(at)); err != nil {
		return fmt.Errorf("enqueue scan of %s@%s: %w", repo, dgst, err)
	}
	return nil
}

func (c scq) ClaimScan(ctx context.Context, now, leaseUntil time.Time) (*meta.ScanJob, error) {
	db := c.db
	var j meta.ScanJob
	var dg string
	var enq, lease int64
	err := db.QueryRowContext(ctx, sqlClaimScan, nanos(now), nanos(leaseUntil)).Scan(&j.Repository, &dg, &enq, &lease, &j.Attempts)
	if err != nil {
		return nil, fmt.Errorf("claim scan: %w", classify(err))
	}
	j.Digest = digest.Digest(dg)
	j.EnqueuedAt = fromNanos(enq)
	j.LeaseUntil = fromNanos(lease)
	return &j, nil
}

func (c scq) DeleteScanJob(ctx context.Context, repo string, dgst digest.Digest) error {
	if _, err := c.exec(ctx, sqlDeleteScanJob, repo, dgst.String()); err != nil {
		return fmt.Errorf("delete scan job %s@%s: %w", repo, dgst, err)
	}
	return nil
}

func (c scq) PutScanResult(ctx context.Context, r *meta.ScanResult) error {
	_, err := c.exec(ctx, sqlPutScanResult, r.Repository, r.Digest.String(), r.Status, r.Description,
		nanos(r.StartedAt), r.RequestedManually, nullNanos(r.CompletedAt), r.Packages, r.Findings, nanos(r.SourceUpdatedAt))
	if err != nil {
		return fmt.Errorf("put scan result of %s@%s: %w", r.Repository, r.Digest, err)
	}
	return nil
}

func scanScanResult(row scanner) (*meta.ScanResult, error) {
	var r meta.ScanResult
	var dg string
	var started, source int64
	var completed sql.NullInt64
	if err := row.Scan(&r.Repository, &dg, &r.Status, &r.Description, &started, &r.RequestedManually,
		&completed, &r.Packages, &r.Findings, &source); err != nil {
		return nil, classify(err)
	}
	r.Digest = digest.Digest(dg)
	r.StartedAt = fromNanos(started)
	r.CompletedAt = fromNullNanos(completed)
	r.SourceUpdatedAt = fromNanos(source)
	return &r, nil
}

func (c scq) GetScanResult(ctx context.Context, repo string, dgst digest.Digest) (*meta.ScanResult, error) {
	db := c.db
	r, err := scanScanResult(db.QueryRowContext(ctx, sqlGetScanResult, repo, dgst.String()))
	if err != nil {
		return nil, fmt.Errorf("get scan result of %s@%s: %w", repo, dgst, err)
	}
	return r, nil
}

func (c scq) ListScanResults(ctx context.Context, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.ScanResult, error) {
	db := c.db
	rows, err := db.QueryContext(ctx, sqlListScanResults, afterRepo, afterDigest.String(), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list scan results: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.ScanResult
	for rows.Next() {
		r, err := scanScanResult(rows)
		if err != nil {
			return nil, fmt.Errorf("list scan results: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scan results: %w", classify(err))
	}
	return out, nil
}

func (c scq) PutVulnerability(ctx context.Context, v *meta.Vulnerability) error {
	if _, err := c.exec(ctx, sqlPutVuln, v.ID, nanos(v.Modified), v.Data); err != nil {
		return fmt.Errorf("put vulnerability %s: %w", v.ID, err)
	}
	if _, err := c.exec(ctx, sqlDeleteVulnPackages, v.ID); err != nil {
		return fmt.Errorf("put vulnerability %s: %w", v.ID, err)
	}
	for _, p := range v.Affected {
		if _, err := c.exec(ctx, sqlPutVulnPackage, p.Ecosystem, p.Name, v.ID); err != nil {
			return fmt.Errorf("put vulnerability %s: %w", v.ID, err)
		}
	}
	return nil
}

func (c scq) VulnerabilitiesFor(ctx context.Context, ecosystem, name string) ([]meta.Vulnerability, error) {
	db := c.db
	rows, err := db.QueryContext(ctx, sqlVulnsFor, ecosystem, name)
	if err != nil {
		return nil, fmt.Errorf("vulnerabilities of %s/%s: %w", ecosystem, name, classify(err))
	}
	defer rows.Close()
	var out []meta.Vulnerability
	for rows.Next() {
		var v meta.Vulnerability
		var mod int64
		if err := rows.Scan(&v.ID, &mod, &v.Data); err != nil {
			return nil, fmt.Errorf("vulnerabilities of %s/%s: %w", ecosystem, name, classify(err))
		}
		v.Modified = fromNanos(mod)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vulnerabilities of %s/%s: %w", ecosystem, name, classify(err))
	}
	return out, nil
}

func (c scq) AddScanEvent(ctx context.Context, e *meta.ScanEvent) error {
	db := c.db
	err := db.QueryRowContext(ctx, sqlAddScanEvent, e.Repository, e.Digest.String(), e.Status, e.Counts, nanos(e.At)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("add scan event: %w", classify(err))
	}
	return nil
}

func (c scq) ListScanEvents(ctx context.Context, afterID int64, limit int) ([]meta.ScanEvent, error) {
	db := c.db
	rows, err := db.QueryContext(ctx, sqlListScanEvents, afterID, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list scan events: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.ScanEvent
	for rows.Next() {
		var e meta.ScanEvent
		var dg string
		var at int64
		if err := rows.Scan(&e.ID, &e.Repository, &dg, &e.Status, &e.Counts, &at); err != nil {
			return nil, fmt.Errorf("list scan events: %w", classify(err))
		}
		e.Digest = digest.Digest(dg)
		e.At = fromNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scan events: %w", classify(err))
	}
	return out, nil
}

// querier: inside a transaction.

// EnqueueScan implements meta.ScanQueries.
func (q *querier) EnqueueScan(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	return q.scan().EnqueueScan(ctx, repo, dgst, at)
}

// ClaimScan implements meta.ScanQueries.
func (q *querier) ClaimScan(ctx context.Context, now, leaseUntil time.Time) (*meta.ScanJob, error) {
	return q.scan().ClaimScan(ctx, now, leaseUntil)
}

// DeleteScanJob implements meta.ScanQueries.
func (q *querier) DeleteScanJob(ctx context.Context, repo string, dgst digest.Digest) error {
	return q.scan().DeleteScanJob(ctx, repo, dgst)
}

// PutScanResult implements meta.ScanQueries.
func (q *querier) PutScanResult(ctx context.Context, r *meta.ScanResult) error {
	return q.scan().PutScanResult(ctx, r)
}

// GetScanResult implements meta.ScanQueries.
func (q *querier) GetScanResult(ctx context.Context, repo string, dgst digest.Digest) (*meta.ScanResult, error) {
	return q.scan().GetScanResult(ctx, repo, dgst)
}

// ListScanResults implements meta.ScanQueries.
func (q *querier) ListScanResults(ctx context.Context, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.ScanResult, error) {
	return q.scan().ListScanResults(ctx, afterRepo, afterDigest, limit)
}

// PutVulnerability implements meta.ScanQueries.
func (q *querier) PutVulnerability(ctx context.Context, v *meta.Vulnerability) error {
	return q.scan().PutVulnerability(ctx, v)
}

// VulnerabilitiesFor implements meta.ScanQueries.
func (q *querier) VulnerabilitiesFor(ctx context.Context, ecosystem, name string) ([]meta.Vulnerability, error) {
	return q.scan().VulnerabilitiesFor(ctx, ecosystem, name)
}

// AddScanEvent implements meta.ScanQueries.
func (q *querier) AddScanEvent(ctx context.Context, e *meta.ScanEvent) error {
	return q.scan().AddScanEvent(ctx, e)
}

// ListScanEvents implements meta.ScanQueries.
func (q *querier) ListScanEvents(ctx context.Context, afterID int64, limit int) ([]meta.ScanEvent, error) {
	return q.scan().ListScanEvents(ctx, afterID, limit)
}

// Store: reads on the read pool, writes in their own transaction.

// EnqueueScan implements meta.ScanQueries in its own write transaction.
func (s *Store) EnqueueScan(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	return s.write(ctx, func(q *querier) error { return q.scan().EnqueueScan(ctx, repo, dgst, at) })
}

// ClaimScan implements meta.ScanQueries in its own write transaction.
func (s *Store) ClaimScan(ctx context.Context, now, leaseUntil time.Time) (j *meta.ScanJob, err error) {
	err = s.write(ctx, func(q *querier) error {
		j, err = q.scan().ClaimScan(ctx, now, leaseUntil)
		return err
	})
	return j, err
}

// DeleteScanJob implements meta.ScanQueries in its own write transaction.
func (s *Store) DeleteScanJob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, func(q *querier) error { return q.scan().DeleteScanJob(ctx, repo, dgst) })
}

// PutScanResult implements meta.ScanQueries in its own write transaction.
func (s *Store) PutScanResult(ctx context.Context, r *meta.ScanResult) error {
	return s.write(ctx, func(q *querier) error { return q.scan().PutScanResult(ctx, r) })
}

// GetScanResult implements meta.ScanQueries on the read pool.
func (s *Store) GetScanResult(ctx context.Context, repo string, dgst digest.Digest) (*meta.ScanResult, error) {
	return scq{plainConn{s.r}}.GetScanResult(ctx, repo, dgst)
}

// ListScanResults implements meta.ScanQueries on the read pool.
func (s *Store) ListScanResults(ctx context.Context, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.ScanResult, error) {
	return scq{plainConn{s.r}}.ListScanResults(ctx, afterRepo, afterDigest, limit)
}

// PutVulnerability implements meta.ScanQueries in its own write transaction.
func (s *Store) PutVulnerability(ctx context.Context, v *meta.Vulnerability) error {
	return s.write(ctx, func(q *querier) error { return q.scan().PutVulnerability(ctx, v) })
}

// VulnerabilitiesFor implements meta.ScanQueries on the read pool.
func (s *Store) VulnerabilitiesFor(ctx context.Context, ecosystem, name string) ([]meta.Vulnerability, error) {
	return scq{plainConn{s.r}}.VulnerabilitiesFor(ctx, ecosystem, name)
}

// AddScanEvent implements meta.ScanQueries in its own write transaction.
func (s *Store) AddScanEvent(ctx context.Context, e *meta.ScanEvent) error {
	return s.write(ctx, func(q *querier) error { return q.scan().AddScanEvent(ctx, e) })
}

// ListScanEvents implements meta.ScanQueries on the read pool.
func (s *Store) ListScanEvents(ctx context.Context, afterID int64, limit int) ([]meta.ScanEvent, error) {
	return scq{plainConn{s.r}}.ListScanEvents(ctx, afterID, limit)
}
