// Garbage collection and usage queries (meta.GCQueries) and repository
// creation template queries (meta.TemplateQueries), in plain statements.

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

func (q querier) ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]meta.Blob, error) {
	out, err := collect(ctx, q.db, func(r pgx.Row) (*meta.Blob, error) {
		var b meta.Blob
		var d string
		var at int64
		if err := r.Scan(&d, &b.Size, &at); err != nil {
			return nil, err
		}
		b.Digest, b.CreatedAt = digest.Digest(d), fromNanos(at)
		return &b, nil
	}, sqlListGarbageBlobs, nanos(createdBefore), string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list garbage blobs: %w", err)
	}
	return out, nil
}

func (q querier) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	n, err := q.exec(ctx, sqlDeleteGarbageBlob, string(dgst), nanos(createdBefore))
	if err != nil {
		return false, fmt.Errorf("delete garbage blob %s: %w", dgst, err)
	}
	return n > 0, nil
}

func (q querier) ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.BlobLink, error) {
	out, err := collect(ctx, q.db, func(r pgx.Row) (*meta.BlobLink, error) {
		var l meta.BlobLink
		var d string
		var at int64
		if err := r.Scan(&l.Repository, &d, &at); err != nil {
			return nil, err
		}
		l.Digest, l.CreatedAt = digest.Digest(d), fromNanos(at)
		return &l, nil
	}, sqlListGarbageLinks, nanos(createdBefore), afterRepo, string(afterDigest), limit)
	if err != nil {
		return nil, fmt.Errorf("list garbage links: %w", err)
	}
	return out, nil
}

func (q querier) DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (bool, error) {
	n, err := q.exec(ctx, sqlDeleteGarbageLink, repo, string(dgst), nanos(createdBefore))
	if err != nil {
		return false, fmt.Errorf("delete garbage link %s in %s: %w", dgst, repo, err)
	}
	return n > 0, nil
}

func (q querier) PutBlobDeletion(ctx context.Context, d *meta.BlobDeletion) error {
	if _, err := q.exec(ctx, sqlPutBlobDeletion, string(d.Digest), d.Size, d.State, nanos(d.StartedAt), nanos(d.FinishedAt)); err != nil {
		return fmt.Errorf("put blob deletion %s: %w", d.Digest, err)
	}
	return nil
}

func scanBlobDeletion(r pgx.Row) (*meta.BlobDeletion, error) {
	var d meta.BlobDeletion
	var dg string
	var started, finished int64
	if err := r.Scan(&dg, &d.Size, &d.State, &started, &finished); err != nil {
		return nil, err
	}
	d.Digest, d.StartedAt, d.FinishedAt = digest.Digest(dg), fromNanos(started), fromNanos(finished)
	return &d, nil
}

func (q querier) GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*meta.BlobDeletion, error) {
	d, err := scanBlobDeletion(q.db.QueryRow(ctx, sqlGetBlobDeletion, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get blob deletion %s: %w", dgst, classify(err))
	}
	return d, nil
}

func (q querier) ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]meta.BlobDeletion, error) {
	out, err := collect(ctx, q.db, scanBlobDeletion, sqlListBlobDeletions, state, string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list blob deletions: %w", err)
	}
	return out, nil
}

func (q querier) PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (int64, error) {
	n, err := q.exec(ctx, sqlPruneBlobDeletions, meta.BlobDeleted, nanos(finishedBefore))
	if err != nil {
		return 0, fmt.Errorf("prune blob deletions: %w", err)
	}
	return n, nil
}

func (q querier) RepositoryUsage(ctx context.Context, repo string) (*meta.RepositoryUsage, error) {
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
		if err := q.db.QueryRow(ctx, s.query, repo).Scan(s.dest...); err != nil {
			return nil, fmt.Errorf("usage of %s: %w", repo, classify(err))
		}
	}
	return u, nil
}

// Templates.

const (
	sqlCreateTemplate = `INSERT INTO repository_creation_templates (prefix, document, created_at, updated_at)
		VALUES ($1, $2, $3, $4)`
	sqlGetTemplate = `SELECT prefix, document, created_at, updated_at FROM repository_creation_templates
		WHERE prefix = $1`
	sqlUpdateTemplate = `UPDATE repository_creation_templates SET document = $2, updated_at = $3
		WHERE prefix = $1`
	sqlDeleteTemplate = `DELETE FROM repository_creation_templates WHERE prefix = $1`
	sqlListTemplates  = `SELECT prefix, document, created_at, updated_at FROM repository_creation_templates
		WHERE prefix > $1 ORDER BY prefix LIMIT $2`
)

func scanTemplate(r pgx.Row) (*meta.CreationTemplate, error) {
	var t meta.CreationTemplate
	var created, updated int64
	if err := r.Scan(&t.Prefix, &t.Document, &created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &t, nil
}

func templateDoc(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (q querier) CreateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	if _, err := q.exec(ctx, sqlCreateTemplate, t.Prefix, templateDoc(t.Document), nanos(t.CreatedAt), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("create creation template %s: %w", t.Prefix, err)
	}
	return nil
}

func (q querier) GetCreationTemplate(ctx context.Context, prefix string) (*meta.CreationTemplate, error) {
	t, err := scanTemplate(q.db.QueryRow(ctx, sqlGetTemplate, prefix))
	if err != nil {
		return nil, fmt.Errorf("get creation template %s: %w", prefix, classify(err))
	}
	return t, nil
}

func (q querier) UpdateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	if err := q.execOne(ctx, sqlUpdateTemplate, t.Prefix, templateDoc(t.Document), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("update creation template %s: %w", t.Prefix, err)
	}
	return nil
}

func (q querier) DeleteCreationTemplate(ctx context.Context, prefix string) error {
	if err := q.execOne(ctx, sqlDeleteTemplate, prefix); err != nil {
		return fmt.Errorf("delete creation template %s: %w", prefix, err)
	}
	return nil
}

func (q querier) ListCreationTemplates(ctx context.Context, after string, limit int) ([]meta.CreationTemplate, error) {
	out, err := collect(ctx, q.db, scanTemplate, sqlListTemplates, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list creation templates: %w", err)
	}
	return out, nil
}

// Store methods: reads on the read pool, writes on the write pool.

func (s *Store) ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]meta.Blob, error) {
	return read(ctx, s, "list garbage blobs", func(q querier) ([]meta.Blob, error) { return q.ListGarbageBlobs(ctx, createdBefore, after, limit) })
}

func (s *Store) DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (ok bool, err error) {
	err = s.write(ctx, "delete garbage blob", func(q querier) error {
		ok, err = q.DeleteGarbageBlob(ctx, dgst, createdBefore)
		return err
	})
	return ok, err
}

func (s *Store) ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]meta.BlobLink, error) {
	return read(ctx, s, "list garbage links", func(q querier) ([]meta.BlobLink, error) {
		return q.ListGarbageLinks(ctx, createdBefore, afterRepo, afterDigest, limit)
	})
}

func (s *Store) DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (ok bool, err error) {
	err = s.write(ctx, "delete garbage link", func(q querier) error {
		ok, err = q.DeleteGarbageLink(ctx, repo, dgst, createdBefore)
		return err
	})
	return ok, err
}

func (s *Store) PutBlobDeletion(ctx context.Context, d *meta.BlobDeletion) error {
	return s.writeIdempotent(ctx, "put blob deletion", func(q querier) error { return q.PutBlobDeletion(ctx, d) })
}

func (s *Store) GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*meta.BlobDeletion, error) {
	return read(ctx, s, "get blob deletion", func(q querier) (*meta.BlobDeletion, error) { return q.GetBlobDeletion(ctx, dgst) })
}

func (s *Store) ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]meta.BlobDeletion, error) {
	return read(ctx, s, "list blob deletions", func(q querier) ([]meta.BlobDeletion, error) { return q.ListBlobDeletions(ctx, state, after, limit) })
}

func (s *Store) PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (n int64, err error) {
	err = s.write(ctx, "prune blob deletions", func(q querier) error {
		n, err = q.PruneBlobDeletions(ctx, finishedBefore)
		return err
	})
	return n, err
}

func (s *Store) RepositoryUsage(ctx context.Context, repo string) (*meta.RepositoryUsage, error) {
	return read(ctx, s, "repository usage", func(q querier) (*meta.RepositoryUsage, error) { return q.RepositoryUsage(ctx, repo) })
}

func (s *Store) CreateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return s.write(ctx, "create creation template", func(q querier) error { return q.CreateCreationTemplate(ctx, t) })
}

func (s *Store) GetCreationTemplate(ctx context.Context, prefix string) (*meta.CreationTemplate, error) {
	return read(ctx, s, "get creation template", func(q querier) (*meta.CreationTemplate, error) { return q.GetCreationTemplate(ctx, prefix) })
}

func (s *Store) UpdateCreationTemplate(ctx context.Context, t *meta.CreationTemplate) error {
	return s.writeIdempotent(ctx, "update creation template", func(q querier) error { return q.UpdateCreationTemplate(ctx, t) })
}

func (s *Store) DeleteCreationTemplate(ctx context.Context, prefix string) error {
	return s.write(ctx, "delete creation template", func(q querier) error { return q.DeleteCreationTemplate(ctx, prefix) })
}

func (s *Store) ListCreationTemplates(ctx context.Context, after string, limit int) ([]meta.CreationTemplate, error) {
	return read(ctx, s, "list creation templates", func(q querier) ([]meta.CreationTemplate, error) { return q.ListCreationTemplates(ctx, after, limit) })
}
