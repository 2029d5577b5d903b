package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Statement ids. The SQL below uses only $N placeholders, ON CONFLICT and
// COALESCE, so it runs unchanged on PostgreSQL.
const (
	qCreateRepository = iota
	qGetRepository
	qUpdateRepositorySettings
	qDeleteRepository
	qListRepositories
	qPutBlob
	qGetBlob
	qLinkBlob
	qGetRepositoryBlob
	qUnlinkBlob
	qInsertManifest
	qInsertBlobRef
	qInsertManifestRef
	qGetManifest
	qDeleteManifest
	qManifestParents
	qManifestParentsInRange
	qListManifests
	qListReferrers
	qRecordPull
	qTagDigest
	qUpsertTag
	qGetTag
	qDeleteTag
	qListTags
	qTagsOf
	qTagsInRange
	qCreateUpload
	qGetUpload
	qUpdateUpload
	qUploadExists
	qDeleteUpload
	qListStaleUploads
	qGetSetting
	qPutSetting
	qCreateSetting
	numQueries
)

const manifestColumns = `repository, digest, media_type, content, artifact_type, COALESCE(subject, ''),
	COALESCE(config_digest, ''), annotations, image_size, pushed_at, last_pulled_at`

const uploadColumns = `id, repository, upload_offset, hash_state, algorithm, backend_state, started_at, updated_at`

type query struct {
	sql  string
	read bool // run on the read pool by plain Store methods
}

var queries = [numQueries]query{
	qCreateRepository:         {sql: `INSERT INTO repositories (name, created_at, settings) VALUES ($1, $2, $3)`},
	qGetRepository:            {read: true, sql: `SELECT name, created_at, settings FROM repositories WHERE name = $1`},
	qUpdateRepositorySettings: {sql: `UPDATE repositories SET settings = $2 WHERE name = $1`},
	qDeleteRepository:         {sql: `DELETE FROM repositories WHERE name = $1`},
	qListRepositories: {read: true, sql: `SELECT name, created_at, settings FROM repositories
		WHERE name > $1 ORDER BY name LIMIT $2`},

	qPutBlob: {sql: `INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (digest) DO NOTHING`},
	qGetBlob: {read: true, sql: `SELECT digest, size, created_at FROM blobs WHERE digest = $1`},
	qLinkBlob: {sql: `INSERT INTO repository_blobs (repository, digest, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (repository, digest) DO NOTHING`},
	qGetRepositoryBlob: {read: true, sql: `SELECT b.digest, b.size, b.created_at
		FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
		WHERE rb.repository = $1 AND rb.digest = $2`},
	qUnlinkBlob: {sql: `DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2`},

	qInsertManifest: {sql: `INSERT INTO manifests (repository, digest, media_type, content, artifact_type,
		subject, config_digest, annotations, image_size, pushed_at, last_pulled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (repository, digest) DO NOTHING`},
	qInsertBlobRef: {sql: `INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest)
		VALUES ($1, $2, $3) ON CONFLICT (repository, manifest_digest, blob_digest) DO NOTHING`},
	qInsertManifestRef: {sql: `INSERT INTO manifest_manifest_refs (repository, parent_digest, child_digest)
		VALUES ($1, $2, $3) ON CONFLICT (repository, parent_digest, child_digest) DO NOTHING`},
	qGetManifest: {read: true, sql: `SELECT ` + manifestColumns + ` FROM manifests
		WHERE repository = $1 AND digest = $2`},
	// Tags and reference rows go with the manifest through ON DELETE CASCADE.
	qDeleteManifest: {sql: `DELETE FROM manifests WHERE repository = $1 AND digest = $2`},
	qManifestParents: {read: true, sql: `SELECT parent_digest FROM manifest_manifest_refs
		WHERE repository = $1 AND child_digest = $2 ORDER BY parent_digest`},
	qManifestParentsInRange: {read: true, sql: `SELECT child_digest, parent_digest FROM manifest_manifest_refs
		WHERE repository = $1 AND child_digest >= $2 AND child_digest <= $3 ORDER BY child_digest, parent_digest`},
	qListManifests: {read: true, sql: `SELECT ` + manifestColumns + ` FROM manifests
		WHERE repository = $1 AND digest > $2 ORDER BY digest LIMIT $3`},
	qListReferrers: {read: true, sql: `SELECT ` + manifestColumns + ` FROM manifests
		WHERE repository = $1 AND subject = $2 AND ($3 = '' OR artifact_type = $3) ORDER BY digest`},
	qRecordPull: {sql: `UPDATE manifests SET last_pulled_at = $3 WHERE repository = $1 AND digest = $2`},

	qTagDigest: {sql: `SELECT digest FROM tags WHERE repository = $1 AND name = $2`},
	qUpsertTag: {sql: `INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`},
	qGetTag:    {read: true, sql: `SELECT name, digest, updated_at FROM tags WHERE repository = $1 AND name = $2`},
	qDeleteTag: {sql: `DELETE FROM tags WHERE repository = $1 AND name = $2`},
	qListTags: {read: true, sql: `SELECT name FROM tags WHERE repository = $1 AND name > $2
		ORDER BY name LIMIT $3`},
	qTagsOf: {read: true, sql: `SELECT name FROM tags WHERE repository = $1 AND digest = $2 ORDER BY name`},
	qTagsInRange: {read: true, sql: `SELECT digest, name FROM tags
		WHERE repository = $1 AND digest >= $2 AND digest <= $3 ORDER BY digest, name`},

	qCreateUpload: {sql: `INSERT INTO uploads (` + uploadColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`},
	qGetUpload: {read: true, sql: `SELECT ` + uploadColumns + ` FROM uploads WHERE id = $1`},
	qUpdateUpload: {sql: `UPDATE uploads SET upload_offset = $2, hash_state = $3, algorithm = $4,
		backend_state = $5, updated_at = $6 WHERE id = $1 AND upload_offset = $7`},
	qUploadExists: {sql: `SELECT COUNT(*) FROM uploads WHERE id = $1`},
	qDeleteUpload: {sql: `DELETE FROM uploads WHERE id = $1`},
	qListStaleUploads: {read: true, sql: `SELECT ` + uploadColumns + ` FROM uploads
		WHERE updated_at < $1 ORDER BY updated_at, id LIMIT $2`},

	qGetSetting: {read: true, sql: `SELECT value FROM settings WHERE key = $1`},
	qPutSetting: {sql: `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`},
	qCreateSetting: {sql: `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)`},
}

// stmts holds the statements prepared once per pool. database/sql prepares a
// statement again on each pool connection that first runs it and keeps it
// there, so the hot lookups never recompile SQL.
type stmts [numQueries]*sql.Stmt

func (s *stmts) prepare(ctx context.Context, db *sql.DB, readOnly bool) error {
	for id, q := range queries {
		if readOnly && !q.read {
			continue
		}
		// The driver only caches a compiled statement when nothing (not even
		// whitespace) follows it.
		st, err := db.PrepareContext(ctx, strings.TrimSpace(q.sql))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q.sql, err)
		}
		s[id] = st
	}
	return nil
}

func (s *stmts) close() error {
	var errs []error
	for i, st := range s {
		if st != nil {
			errs = append(errs, st.Close())
			s[i] = nil
		}
	}
	return errors.Join(errs...)
}

// querier implements meta.Queries either over the read pool (tx == nil) or
// inside a write transaction.
type querier struct {
	st *stmts
	tx *sql.Tx
	db runner // tx, or the read pool for Store.reads: plain SQL runs here
}

var _ meta.Queries = (*querier)(nil)

func (q *querier) stmt(ctx context.Context, id int) *sql.Stmt {
	if q.tx != nil {
		// Reuses the statement already prepared on the writer connection.
		return q.tx.StmtContext(ctx, q.st[id])
	}
	return q.st[id]
}

// pointCtx returns the context for a single-row primary-key lookup. On the
// read pool such a query takes microseconds, yet with a cancelable context
// database/sql and the driver each start a goroutine to watch it, which about
// doubles the cost of the lookup (these are the manifest GET hot path). So the
// context is checked once up front and its cancellation detached; values are
// kept. Inside a transaction the context is used as is.
func (q *querier) pointCtx(ctx context.Context) (context.Context, error) {
	if q.tx != nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

func (q *querier) exec(ctx context.Context, id int, args ...any) (int64, error) {
	return affected(q.stmt(ctx, id).ExecContext(ctx, args...))
}

// execOne runs a statement that must touch exactly one existing row.
func (q *querier) execOne(ctx context.Context, id int, args ...any) error {
	return exactlyOne(q.exec(ctx, id, args...))
}

// affected is the number of rows a statement's result touched.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// exactlyOne is ErrNotFound for a statement that touched no row.
func exactlyOne(n int64, err error) error {
	if err == nil && n == 0 {
		return meta.ErrNotFound
	}
	return err
}

// Timestamps are stored as unix nanoseconds; the zero time is stored as 0 so
// that it reads back as the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullNanos and fromNullNanos store a nil time as NULL.
func nullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nanos(*t)
}

func fromNullNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// limitArg turns "limit <= 0 means all" into a LIMIT both dialects accept.
func limitArg(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// Repositories.

func (q *querier) CreateRepository(ctx context.Context, repo *meta.Repository) error {
	if _, err := q.exec(ctx, qCreateRepository, repo.Name, nanos(repo.CreatedAt), repo.Settings); err != nil {
		return fmt.Errorf("create repository %s: %w", repo.Name, err)
	}
	return nil
}

func (q *querier) GetRepository(ctx context.Context, name string) (*meta.Repository, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get repository %s: %w", name, err)
	}
	var r meta.Repository
	var created int64
	err = q.stmt(ctx, qGetRepository).QueryRowContext(ctx, name).Scan(&r.Name, &created, &r.Settings)
	if err != nil {
		return nil, fmt.Errorf("get repository %s: %w", name, classify(err))
	}
	r.CreatedAt = fromNanos(created)
	return &r, nil
}

func (q *querier) UpdateRepositorySettings(ctx context.Context, name string, settings []byte) error {
	if err := q.execOne(ctx, qUpdateRepositorySettings, name, settings); err != nil {
		return fmt.Errorf("update repository settings %s: %w", name, err)
	}
	return nil
}

func (q *querier) DeleteRepository(ctx context.Context, name string) error {
	if err := q.execOne(ctx, qDeleteRepository, name); err != nil {
		return fmt.Errorf("delete repository %s: %w", name, err)
	}
	return nil
}

func (q *querier) ListRepositories(ctx context.Context, after string, limit int) ([]meta.Repository, error) {
	rows, err := q.stmt(ctx, qListRepositories).QueryContext(ctx, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.Repository
	for rows.Next() {
		var r meta.Repository
		var created int64
		if err := rows.Scan(&r.Name, &created, &r.Settings); err != nil {
			return nil, fmt.Errorf("list repositories: %w", err)
		}
		r.CreatedAt = fromNanos(created)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return out, nil
}

// Blobs.

func (q *querier) PutBlob(ctx context.Context, b meta.Blob) error {
	if _, err := q.exec(ctx, qPutBlob, string(b.Digest), b.Size, nanos(b.CreatedAt)); err != nil {
		return fmt.Errorf("put blob %s: %w", b.Digest, err)
	}
	return nil
}

func (q *querier) GetBlob(ctx context.Context, dgst digest.Digest) (*meta.Blob, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", dgst, err)
	}
	b, err := scanBlob(q.stmt(ctx, qGetBlob).QueryRowContext(ctx, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", dgst, err)
	}
	return b, nil
}

func (q *querier) LinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	if _, err := q.exec(ctx, qLinkBlob, repo, string(dgst), time.Now().UnixNano()); err != nil {
		return fmt.Errorf("link blob %s into %s: %w", dgst, repo, err)
	}
	return nil
}

func (q *querier) GetRepositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*meta.Blob, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get blob %s in %s: %w", dgst, repo, err)
	}
	b, err := scanBlob(q.stmt(ctx, qGetRepositoryBlob).QueryRowContext(ctx, repo, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get blob %s in %s: %w", dgst, repo, err)
	}
	return b, nil
}

func scanBlob(row *sql.Row) (*meta.Blob, error) {
	var d string
	var b meta.Blob
	var created int64
	if err := row.Scan(&d, &b.Size, &created); err != nil {
		return nil, classify(err)
	}
	b.Digest = digest.Digest(d)
	b.CreatedAt = fromNanos(created)
	return &b, nil
}

func (q *querier) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	if err := q.execOne(ctx, qUnlinkBlob, repo, string(dgst)); err != nil {
		return fmt.Errorf("unlink blob %s from %s: %w", dgst, repo, err)
	}
	return nil
}

// Manifests.

func (q *querier) PutManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	if err := q.putManifest(ctx, m, refs); err != nil {
		return fmt.Errorf("put manifest %s@%s: %w", m.Repository, m.Digest, err)
	}
	return nil
}

func (q *querier) putManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	var annotations any
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return fmt.Errorf("encode annotations: %w", err)
		}
		annotations = string(b)
	}
	n, err := q.exec(ctx, qInsertManifest, m.Repository, string(m.Digest), m.MediaType, m.Content,
		m.ArtifactType, nullString(string(m.Subject)), nullString(string(m.ConfigDigest)), annotations,
		m.ImageSize, nanos(m.PushedAt), nullNanos(m.LastPulledAt))
	if err != nil {
		return err
	}
	if n == 0 {
		// Already stored: same digest, same content, same references.
		return nil
	}
	for _, b := range refs.Blobs {
		if _, err := q.exec(ctx, qInsertBlobRef, m.Repository, string(m.Digest), string(b)); err != nil {
			return fmt.Errorf("blob reference %s: %w", b, err)
		}
	}
	for _, c := range refs.Manifests {
		if _, err := q.exec(ctx, qInsertManifestRef, m.Repository, string(m.Digest), string(c)); err != nil {
			return fmt.Errorf("manifest reference %s: %w", c, err)
		}
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanManifest(s scanner) (*meta.Manifest, error) {
	var (
		m                     meta.Manifest
		dgst, subject, config string
		annotations           []byte
		pushed                int64
		pulled                sql.NullInt64
	)
	if err := s.Scan(&m.Repository, &dgst, &m.MediaType, &m.Content, &m.ArtifactType, &subject,
		&config, &annotations, &m.ImageSize, &pushed, &pulled); err != nil {
		return nil, classify(err)
	}
	m.Digest = digest.Digest(dgst)
	m.Subject = digest.Digest(subject)
	m.ConfigDigest = digest.Digest(config)
	m.PushedAt = fromNanos(pushed)
	m.LastPulledAt = fromNullNanos(pulled)
	if len(annotations) > 0 {
		if err := json.Unmarshal(annotations, &m.Annotations); err != nil {
			return nil, fmt.Errorf("decode annotations: %w", err)
		}
	}
	return &m, nil
}

func (q *querier) GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*meta.Manifest, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get manifest %s@%s: %w", repo, dgst, err)
	}
	m, err := scanManifest(q.stmt(ctx, qGetManifest).QueryRowContext(ctx, repo, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get manifest %s@%s: %w", repo, dgst, err)
	}
	return m, nil
}

func (q *querier) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	if err := q.execOne(ctx, qDeleteManifest, repo, string(dgst)); err != nil {
		return fmt.Errorf("delete manifest %s@%s: %w", repo, dgst, err)
	}
	return nil
}

func (q *querier) ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error) {
	ds, err := q.digests(ctx, qManifestParents, repo, string(dgst))
	if err != nil {
		return nil, fmt.Errorf("manifest parents %s@%s: %w", repo, dgst, err)
	}
	return ds, nil
}

func (q *querier) ListManifests(ctx context.Context, repo string, after digest.Digest, limit int) ([]meta.Manifest, error) {
	ms, err := q.manifests(ctx, qListManifests, repo, string(after), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list manifests %s: %w", repo, err)
	}
	return ms, nil
}

func (q *querier) ListReferrers(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	ms, err := q.manifests(ctx, qListReferrers, repo, string(subject), artifactType)
	if err != nil {
		return nil, fmt.Errorf("list referrers %s@%s: %w", repo, subject, err)
	}
	return ms, nil
}

func (q *querier) manifests(ctx context.Context, id int, args ...any) ([]meta.Manifest, error) {
	rows, err := q.stmt(ctx, id).QueryContext(ctx, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []meta.Manifest
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (q *querier) RecordPull(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	if err := q.execOne(ctx, qRecordPull, repo, string(dgst), nanos(at)); err != nil {
		return fmt.Errorf("record pull %s@%s: %w", repo, dgst, err)
	}
	return nil
}

// Tags.

func (q *querier) SetTag(ctx context.Context, repo, tag string, dgst digest.Digest, at time.Time) (digest.Digest, error) {
	var prev string
	err := q.stmt(ctx, qTagDigest).QueryRowContext(ctx, repo, tag).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("set tag %s:%s: %w", repo, tag, classify(err))
	}
	if _, err := q.exec(ctx, qUpsertTag, repo, tag, string(dgst), nanos(at)); err != nil {
		return "", fmt.Errorf("set tag %s:%s: %w", repo, tag, err)
	}
	return digest.Digest(prev), nil
}

func (q *querier) GetTag(ctx context.Context, repo, tag string) (*meta.TagInfo, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get tag %s:%s: %w", repo, tag, err)
	}
	var t meta.TagInfo
	var d string
	var updated int64
	if err := q.stmt(ctx, qGetTag).QueryRowContext(ctx, repo, tag).Scan(&t.Name, &d, &updated); err != nil {
		return nil, fmt.Errorf("get tag %s:%s: %w", repo, tag, classify(err))
	}
	t.Digest = digest.Digest(d)
	t.UpdatedAt = fromNanos(updated)
	return &t, nil
}

func (q *querier) DeleteTag(ctx context.Context, repo, tag string) error {
	if err := q.execOne(ctx, qDeleteTag, repo, tag); err != nil {
		return fmt.Errorf("delete tag %s:%s: %w", repo, tag, err)
	}
	return nil
}

func (q *querier) ListTags(ctx context.Context, repo, after string, limit int) ([]string, error) {
	tags, err := q.strings(ctx, qListTags, repo, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list tags %s: %w", repo, err)
	}
	return tags, nil
}

func (q *querier) TagsOf(ctx context.Context, repo string, dgst digest.Digest) ([]string, error) {
	tags, err := q.strings(ctx, qTagsOf, repo, string(dgst))
	if err != nil {
		return nil, fmt.Errorf("tags of %s@%s: %w", repo, dgst, err)
	}
	return tags, nil
}

func (q *querier) TagsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]string, error) {
	out, err := grouped[string](ctx, q, qTagsInRange, repo, first, last)
	if err != nil {
		return nil, fmt.Errorf("tags of %s@%s..%s: %w", repo, first, last, err)
	}
	return out, nil
}

func (q *querier) ManifestParentsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]digest.Digest, error) {
	out, err := grouped[digest.Digest](ctx, q, qManifestParentsInRange, repo, first, last)
	if err != nil {
		return nil, fmt.Errorf("manifest parents %s@%s..%s: %w", repo, first, last, err)
	}
	return out, nil
}

// grouped runs a query of (digest, value) rows for the digests of repo
// from first to last and groups the values by digest, in row order.
func grouped[V ~string](ctx context.Context, q *querier, id int, repo string, first, last digest.Digest) (map[digest.Digest][]V, error) {
	rows, err := q.stmt(ctx, id).QueryContext(ctx, repo, string(first), string(last))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := make(map[digest.Digest][]V)
	for rows.Next() {
		var d, v string
		if err := rows.Scan(&d, &v); err != nil {
			return nil, err
		}
		out[digest.Digest(d)] = append(out[digest.Digest(d)], V(v))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (q *querier) strings(ctx context.Context, id int, args ...any) ([]string, error) {
	rows, err := q.stmt(ctx, id).QueryContext(ctx, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (q *querier) digests(ctx context.Context, id int, args ...any) ([]digest.Digest, error) {
	ss, err := q.strings(ctx, id, args...)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, s := range ss {
		out = append(out, digest.Digest(s))
	}
	return out, nil
}

// Upload sessions.

func (q *querier) CreateUpload(ctx context.Context, u *meta.Upload) error {
	if _, err := q.exec(ctx, qCreateUpload, u.ID, u.Repository, u.Offset, u.HashState, string(u.Algorithm),
		u.BackendState, nanos(u.StartedAt), nanos(u.UpdatedAt)); err != nil {
		return fmt.Errorf("create upload %s in %s: %w", u.ID, u.Repository, err)
	}
	return nil
}

func scanUpload(s scanner) (*meta.Upload, error) {
	var u meta.Upload
	var alg string
	var started, updated int64
	if err := s.Scan(&u.ID, &u.Repository, &u.Offset, &u.HashState, &alg, &u.BackendState,
		&started, &updated); err != nil {
		return nil, classify(err)
	}
	u.Algorithm = digest.Algorithm(alg)
	u.StartedAt = fromNanos(started)
	u.UpdatedAt = fromNanos(updated)
	return &u, nil
}

func (q *querier) GetUpload(ctx context.Context, id string) (*meta.Upload, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get upload %s: %w", id, err)
	}
	u, err := scanUpload(q.stmt(ctx, qGetUpload).QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("get upload %s: %w", id, err)
	}
	return u, nil
}

// UpdateUpload is a compare-and-swap on the offset. A missing session reports
// ErrNotFound rather than ErrConflict so the caller does not retry it.
func (q *querier) UpdateUpload(ctx context.Context, u *meta.Upload, expectedOffset int64) error {
	n, err := q.exec(ctx, qUpdateUpload, u.ID, u.Offset, u.HashState, string(u.Algorithm), u.BackendState,
		nanos(u.UpdatedAt), expectedOffset)
	if err != nil {
		return fmt.Errorf("update upload %s: %w", u.ID, err)
	}
	if n == 1 {
		return nil
	}
	var exists int
	if err := q.stmt(ctx, qUploadExists).QueryRowContext(ctx, u.ID).Scan(&exists); err != nil {
		return fmt.Errorf("update upload %s: %w", u.ID, classify(err))
	}
	if exists == 0 {
		return fmt.Errorf("update upload %s: %w", u.ID, meta.ErrNotFound)
	}
	return fmt.Errorf("update upload %s: offset is no longer %d: %w", u.ID, expectedOffset, meta.ErrConflict)
}

func (q *querier) DeleteUpload(ctx context.Context, id string) error {
	if err := q.execOne(ctx, qDeleteUpload, id); err != nil {
		return fmt.Errorf("delete upload %s: %w", id, err)
	}
	return nil
}

func (q *querier) ListStaleUploads(ctx context.Context, updatedBefore time.Time, limit int) ([]meta.Upload, error) {
	rows, err := q.stmt(ctx, qListStaleUploads).QueryContext(ctx, nanos(updatedBefore), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list stale uploads: %w", classify(err))
	}
	defer rows.Close()
	var out []meta.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("list stale uploads: %w", err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list stale uploads: %w", err)
	}
	return out, nil
}

// Settings.

func (q *querier) GetSetting(ctx context.Context, key string) ([]byte, error) {
	ctx, err := q.pointCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("get setting %s: %w", key, err)
	}
	var v []byte
	if err := q.stmt(ctx, qGetSetting).QueryRowContext(ctx, key).Scan(&v); err != nil {
		return nil, fmt.Errorf("get setting %s: %w", key, classify(err))
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (q *querier) PutSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := q.exec(ctx, qPutSetting, key, value, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

func (q *querier) CreateSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := q.exec(ctx, qCreateSetting, key, value, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("create setting %s: %w", key, err)
	}
	return nil
}
