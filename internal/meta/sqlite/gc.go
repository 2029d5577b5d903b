// Garbage collection and usage queries (meta.GCQueries), written with plain
// statements on the read pool or a write transaction.

package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

const (
	gcUnreferenced = `NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM manifest_blob_refs r WHERE r.blob_digest = b.digest)`
	sqlListGarbageBlobs = `SELECT b.digest, b.size, b.created_at FROM blobs b
		WHERE b.created_at < $1 AND b.digest > $2 AND ` + gcUnreferenced + `
		ORDER BY b.digest LIMIT $3`
	sqlDeleteGarbageBlob = `DELETE FROM blobs AS b WHERE b.digest = $1 AND b.created_at < $2 AND ` + gcUnreferenced
	gcLinkUnreferenced   = `NOT EXISTS (SELECT 1 FROM manifest_blob_refs r
		WHERE r.repository = l.repository AND r.blob_digest = l.digest)`
	sqlListGarbageLinks = `SELECT l.repository, l.digest, l.created_at FROM repository_blobs l
		WHERE l.created_at < $1 AND (l.repository > $2 OR (l.repository = $2 AND l.digest > $3)) AND ` + gcLinkUnreferenced + `
		ORDER BY l.repository, l.digest LIMIT $4`
	sqlDeleteGarbageLink = `DELETE FROM repository_blobs AS l
		WHERE l.repository = $1 AND l.digest = $2 AND l.created_at < $3 AND ` + gcLinkUnreferenced
	sqlPutBlobDeletion = `INSERT INTO gc_blob_deletions (digest, size, state, started_at, finished_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (digest) DO UPDATE SET size = excluded.size, state = excluded.state,
		started_at = excluded.started_at, finished_at = excluded.finished_at`
	sqlGetBlobDeletion = `SELECT digest, size, state, started_at, finished_at FROM gc_blob_deletions
		WHERE digest = $1`
	sqlListBlobDeletions = `SELECT digest, size, state, started_at, finished_at FROM gc_blob_deletions
		WHERE state = $1 AND digest > $2 ORDER BY digest LIMIT $3`
	sqlPruneBlobDeletions = `DELETE FROM gc_blob_deletions WHERE state = $1 AND finished_at < $2`
	sqlUsageManifests     = `SELECT COUNT(*) FROM manifests WHERE repository = $1`
	sqlUsageTags          = `SELECT COUNT(DISTINCT digest), COUNT(*) FROM tags WHERE repository = $1`
	sqlUsageRawBytes      = `SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT) FROM manifest_blob_refs r
		JOIN blobs b ON b.digest = r.blob_digest WHERE r.repository = $1`
	sqlUsageDedupBytes = `SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT) FROM blobs b WHERE b.digest IN
		(SELECT r.blob_digest FROM manifest_blob_refs r WHERE r.repository = $1)`
)

// gcq implements meta.GCQueries and meta.TemplateQueries on a connection.
type gcq struct{ plainConn }

// gcq returns the querier for q's transaction. The read-pool querier is
// reached only through Store, which routes these reads to the pool itself.
func (q *querier) gcq() gcq { return gcq{q.plain()} }

func (g gcq) ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]meta.Blob, error) {
	rows, err := g.rows(ctx, sqlListGarbageBlobs, nanos(createdBefore), string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list garbage blobs: %w", err)
	}
	defer rows.Close()
	var out []meta.Blob
	for rows.Next() {
		var b meta.Blob
		var d string
		var at int64
		if err := rows.Scan(&d, &b.Size, &at); err != nil {
			return nil, fmt.Errorf("list garbage blobs: %w", err)
		}
		b.Digest, b.CreatedAt = digest.Digest(d), fromNanos(at)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list garbage blobs: %w", classify(err))
	}
	return out, nil
}

func (g gcq) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	n, err := g.exec(ctx, sqlDeleteGarbageBlob, string(dgst), nanos(createdBefore))
	if err != nil {
		return false, fmt.Errorf("delete garbage blob %s: %w", dgst, err)
	}
	return n > 0, nil
}

func (g gcq) ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.BlobLink, error) {
	rows, err := g.rows(ctx, sqlListGarbageLinks, nanos(createdBefore), afterRepo, string(afterDigest), limit)
	if err != nil {
		return nil, fmt.Errorf("list garbage links: %w", err)
	}
	defer rows.Close()
	var out []meta.BlobLink
	for rows.Next() {
		var l meta.BlobLink
		var d string
		var at int64
		if err := rows.Scan(&l.Repository, &d, &at); err != nil {
			return nil, fmt.Errorf("list garbage links: %w", err)
		}
		l.Digest, l.CreatedAt = digest.Digest(d), fromNanos(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list garbage links: %w", classify(err))
	}
	return out, nil
}

func (g gcq) DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	n, err := g.exec(ctx, sqlDeleteGarbageLink, repo, string(dgst), nanos(createdBefore))
	if err != nil {
		return false, fmt.Errorf("delete garbage link %s in %s: %w", dgst, repo, err)
	}
	return n > 0, nil
}

func (g gcq) PutBlobDeletion(ctx context.Context, d *meta.BlobDeletion) error {
	if _, err := g.exec(ctx, sqlPutBlobDeletion, string(d.Digest), d.Size, d.State, nanos(d.StartedAt), nanos(d.FinishedAt)); err != nil {
		return fmt.Errorf("put blob deletion %s: %w", d.Digest, err)
	}
	return nil
}

func scanBlobDeletion(s scanner) (*meta.BlobDeletion, error) {
	var d meta.BlobDeletion
	var dg string
	var started, finished int64
	if err := s.Scan(&dg, &d.Size, &d.State, &started, &finished); err != nil {
		return nil, err
	}
	d.Digest, d.StartedAt, d.FinishedAt = digest.Digest(dg), fromNanos(started), fromNanos(finished)
	return &d, nil
}

func (g gcq) GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*meta.BlobDeletion, error) {
	row := g.row(ctx, sqlGetBlobDeletion, string(dgst))
	d, err := scanBlobDeletion(row)
	if err != nil {
		return nil, fmt.Errorf("get blob deletion %s: %w", dgst, classify(err))
	}
	return d, nil
}

func (g gcq) ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]meta.BlobDeletion, error) {
	rows, err := g.rows(ctx, sqlListBlobDeletions, state, string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list blob deletions: %w", err)
	}
	defer rows.Close()
	var out []meta.BlobDeletion
	for rows.Next() {
		d, err := scanBlobDeletion(rows)
		if err != nil {
			return nil, fmt.Errorf("list blob deletions: %w", err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list blob deletions: %w", classify(err))
	}
	return out, nil
}

func (g gcq) PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (int64, error) {
	n, err := g.exec(ctx, sqlPruneBlobDeletions, meta.BlobDeleted, nanos(finishedBefore))
	if err != nil {
		return 0, fmt.Errorf("prune blob deletions: %w", err)
	}
	return n, nil
}

func (g gcq) RepositoryUsage(ctx context.Context, repo string) (*meta.RepositoryUsage, error) {
	db := g.db
	u := &meta.RepositoryUsage{Repository: repo}
	steps := []struct {
		query string
		dest  []any
	}{
		{sqlUsageManifests, []any{&u.Images}},
		{sqlUsageTags, []any{&u.Tagged, &u.Tags}},
		{sqlUsageRawBytes, []any{&u.RawBytes}},
		{sqlUsageDedupBytes, []any{&u.DedupBytes}},
	}
	for _, s := range steps {
		if err := db.QueryRowContext(ctx, s.query, repo).Scan(s.dest...); err != nil {
			return nil, fmt.Errorf("usage of %s: %w", repo, classify(err))
		}
	}
	return u, nil
}

// Transaction methods.

func (q *querier) ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]meta.Blob, error) {
	return q.gcq().ListGarbageBlobs(ctx, createdBefore, after, limit)
}

func (q *querier) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	return q.gcq().DeleteGarbageBlob(ctx, dgst, createdBefore)
}

func (q *querier) ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.BlobLink, error) {
	return q.gcq().ListGarbageLinks(ctx, createdBefore, afterRepo, afterDigest, limit)
}

func (q *querier) DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	return q.gcq().DeleteGarbageLink(ctx, repo, dgst, createdBefore)
}

func (q *querier) PutBlobDeletion(ctx context.Context, d *meta.BlobDeletion) error {
	return q.gcq().PutBlobDeletion(ctx, d)
}

func (q *querier) GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*meta.BlobDeletion, error) {
	return q.gcq().GetBlobDeletion(ctx, dgst)
}

func (q *querier) ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]meta.BlobDeletion, error) {
	return q.gcq().ListBlobDeletions(ctx, state, after, limit)
}

func (q *querier) PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (int64, error) {
	return q.gcq().PruneBlobDeletions(ctx, finishedBefore)
}

func (q *querier) RepositoryUsage(ctx context.Context, repo string) (*meta.RepositoryUsage, error) {
	return q.gcq().RepositoryUsage(ctx, repo)
}

// Store methods: reads on the read pool, writes in a transaction of their own.

func (s *Store) gcRead() gcq { return gcq{plainConn{s.r}} }

func (s *Store) ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]meta.Blob, error) {
	return s.gcRead().ListGarbageBlobs(ctx, createdBefore, after, limit)
}

func (s *Store) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (ok bool, err error) {
	err = s.write(ctx, func(q *querier) error {
		ok, err = q.DeleteGarbageBlob(ctx, dgst, createdBefore)
		return err
	})
	return ok, err
}

func (s *Store) ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.BlobLink, error) {
	return s.gcRead().ListGarbageLinks(ctx, createdBefore, afterRepo, afterDigest, limit)
}

func (s *Store) DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (ok bool, err error) {
	err = s.write(ctx, func(q *querier) error {
		ok, err = q.DeleteGarbageLink(ctx, repo, dgst, createdBefore)
		return err
	})
	return ok, err
}

func (s *Store) PutBlobDeletion(ctx context.Context, d *meta.BlobDeletion) error {
	return s.write(ctx, func(q *querier) error { return q.PutBlobDeletion(ctx, d) })
}

func (s *Store) GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*meta.BlobDeletion, error) {
	return s.gcRead().GetBlobDeletion(ctx, dgst)
}

func (s *Store) ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]meta.BlobDeletion, error) {
	return s.gcRead().ListBlobDeletions(ctx, state, after, limit)
}

func (s *Store) PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (n int64, err error) {
	err = s.write(ctx, func(q *querier) error {
		n, err = q.PruneBlobDeletions(ctx, finishedBefore)
		return err
	})
	return n, err
}

func (s *Store) RepositoryUsage(ctx context.Context, repo string) (*meta.RepositoryUsage, error) {
	return s.gcRead().RepositoryUsage(ctx, repo)
}
