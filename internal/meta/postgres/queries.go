package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// SQL. Each Queries method is one statement (one round trip, atomic on its
// own), so outside InTx no method needs an explicit transaction. Every write
// runs at SERIALIZABLE (see Store), which several statements rely on: there a
// snapshot is never silently overtaken by a concurrent writer, the statement
// fails with a serialization error instead and is retried.
const (
	manifestColumns = `repository, digest, media_type, content, artifact_type, subject,
	config_digest, annotations, image_size, pushed_at, last_pulled_at`

	uploadColumns = `id, repository, upload_offset, hash_state, algorithm, backend_state, started_at, updated_at`

	sqlCreateRepository = `INSERT INTO repositories (name, created_at, settings) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`
	sqlGetRepository            = `SELECT name, created_at, settings FROM repositories WHERE name = $1`
	sqlUpdateRepositorySettings = `UPDATE repositories SET settings = $2 WHERE name = $1`
	sqlDeleteRepository         = `DELETE FROM repositories WHERE name = $1`
	sqlListRepositories         = `SELECT name, created_at, settings FROM repositories
		WHERE name > $1 ORDER BY name LIMIT $2`

	sqlPutBlob = `INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (digest) DO NOTHING`
	sqlGetBlob  = `SELECT digest, size, created_at FROM blobs WHERE digest = $1`
	sqlLinkBlob = `INSERT INTO repository_blobs (repository, digest, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (repository, digest) DO NOTHING`
	sqlGetRepositoryBlob = `SELECT b.digest, b.size, b.created_at
		FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
		WHERE rb.repository = $1 AND rb.digest = $2`
	sqlUnlinkBlob = `DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2`

	// The manifest and its reference rows in one statement. The reference
	// inserts read the manifest CTE, so an already stored manifest (the
	// insert does nothing) adds no references, as in the SQLite store. The
	// foreign keys of the reference rows are checked at the end of the
	// statement, when the manifest row exists.
	sqlPutManifest = `WITH m AS (
		INSERT INTO manifests (repository, digest, media_type, content, artifact_type,
			subject, config_digest, annotations, image_size, pushed_at, last_pulled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (repository, digest) DO NOTHING
		RETURNING repository, digest
	), b AS (
		INSERT INTO manifest_blob_refs (repository, manifest_digest, blob_digest)
		SELECT m.repository, m.digest, r FROM m, unnest($12::text[]) AS r
		ON CONFLICT (repository, manifest_digest, blob_digest) DO NOTHING
	), c AS (
		INSERT INTO manifest_manifest_refs (repository, parent_digest, child_digest)
		SELECT m.repository, m.digest, r FROM m, unnest($13::text[]) AS r
		ON CONFLICT (repository, parent_digest, child_digest) DO NOTHING
	)
	SELECT count(*) FROM m`
	sqlGetManifest = `SELECT ` + manifestColumns + ` FROM manifests WHERE repository = $1 AND digest = $2`
	// Tags and reference rows go with the manifest through ON DELETE CASCADE.
	sqlDeleteManifest         = `DELETE FROM manifests WHERE repository = $1 AND digest = $2`
	sqlManifestParents        = `SELECT parent_digest FROM manifest_manifest_refs WHERE repository = $1 AND child_digest = $2 ORDER BY parent_digest`
	sqlManifestParentsInRange = `SELECT child_digest, parent_digest FROM manifest_manifest_refs
		WHERE repository = $1 AND child_digest >= $2 AND child_digest <= $3 ORDER BY child_digest, parent_digest`
	sqlListManifests = `SELECT ` + manifestColumns + ` FROM manifests WHERE repository = $1 AND digest > $2 ORDER BY digest LIMIT $3`
	sqlListReferrers = `SELECT ` + manifestColumns + ` FROM manifests WHERE repository = $1 AND subject = $2 AND ($3 = '' OR artifact_type = $3) ORDER BY digest`
	sqlRecordPull    = `UPDATE manifests SET last_pulled_at = $3 WHERE repository = $1 AND digest = $2`

	// SetTag reads the previous target and writes the new one in one
	// statement, so both come from one snapshot (the CTE is read in
	// RETURNING, still from the statement's snapshot, i.e. before the
	// upsert). This is exact only because every write here runs at
	// SERIALIZABLE: a concurrent move or creation of the same tag makes the
	// upsert fail with 40001 instead of overwriting a row the snapshot does
	// not show, and the retry then reports the winner's target. (FOR UPDATE
	// would not help: the lazily read CTE would skip the row this very
	// statement just updated.)
	sqlSetTag = `WITH prev AS (
		SELECT digest FROM tags WHERE repository = $1 AND name = $2
	)
	INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at
	RETURNING (SELECT digest FROM prev)`
	sqlGetTag      = `SELECT name, digest, updated_at FROM tags WHERE repository = $1 AND name = $2`
	sqlDeleteTag   = `DELETE FROM tags WHERE repository = $1 AND name = $2`
	sqlListTags    = `SELECT name FROM tags WHERE repository = $1 AND name > $2 ORDER BY name LIMIT $3`
	sqlTagsOf      = `SELECT name FROM tags WHERE repository = $1 AND digest = $2 ORDER BY name`
	sqlTagsInRange = `SELECT digest, name FROM tags
		WHERE repository = $1 AND digest >= $2 AND digest <= $3 ORDER BY digest, name`

	sqlCreateUpload = `INSERT INTO uploads (` + uploadColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	sqlGetUpload    = `SELECT ` + uploadColumns + ` FROM uploads WHERE id = $1`
	// Compare-and-swap on the offset; the second column tells a lost race
	// (ErrConflict) from a missing session (ErrNotFound) in the same round trip.
	sqlUpdateUpload = `WITH u AS (
		UPDATE uploads SET upload_offset = $2, hash_state = $3, algorithm = $4, backend_state = $5, updated_at = $6
		WHERE id = $1 AND upload_offset = $7
		RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM uploads WHERE id = $1)`
	sqlDeleteUpload     = `DELETE FROM uploads WHERE id = $1`
	sqlListStaleUploads = `SELECT ` + uploadColumns + ` FROM uploads WHERE updated_at < $1 ORDER BY updated_at, id LIMIT $2`

	sqlGetSetting = `SELECT value FROM settings WHERE key = $1`
	sqlPutSetting = `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
	sqlCreateSetting = `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)`
)

// dbtx is what a querier runs statements on: a pool or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier implements meta.Queries on a pool (each method its own implicit
// transaction) or inside a transaction. It does not retry: Store does.
type querier struct{ db dbtx }

var _ meta.Queries = querier{}

// classify maps driver errors onto the meta sentinels, keeping the driver's
// message for diagnosis.
func classify(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return meta.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", meta.ErrExists, err)
		case "23503": // foreign_key_violation
			// Every foreign key points at the owner of the row being written
			// (repository, manifest, blob), so a violation means it is missing.
			return fmt.Errorf("%w: %w", meta.ErrNotFound, err)
		}
	}
	return err
}

func (q querier) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.db.Exec(ctx, sql, args...)
	if err != nil {
		return 0, classify(err)
	}
	return tag.RowsAffected(), nil
}

// execOne runs a statement that must touch exactly one existing row.
func (q querier) execOne(ctx context.Context, sql string, args ...any) error {
	n, err := q.exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return meta.ErrNotFound
	}
	return nil
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
func nullNanos(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := nanos(*t)
	return &n
}

func fromNullNanos(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNanos(*n)
	return &t
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// limitArg turns "limit <= 0 means all" into a LIMIT.
func limitArg(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

func digestStrings(ds []digest.Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	return out
}

// Repositories.

// CreateRepository reports an existing repository as ErrExists without a
// unique violation, which would abort the caller's transaction: callers that
// create on push treat "exists" as success and go on in the same transaction.
func (q querier) CreateRepository(ctx context.Context, repo *meta.Repository) error {
	n, err := q.exec(ctx, sqlCreateRepository, repo.Name, nanos(repo.CreatedAt), repo.Settings)
	if err != nil {
		return fmt.Errorf("create repository %s: %w", repo.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("create repository %s: %w", repo.Name, meta.ErrExists)
	}
	return nil
}

func scanRepository(s pgx.Row) (*meta.Repository, error) {
	var r meta.Repository
	var created int64
	if err := s.Scan(&r.Name, &created, &r.Settings); err != nil {
		return nil, classify(err)
	}
	r.CreatedAt = fromNanos(created)
	return &r, nil
}

func (q querier) GetRepository(ctx context.Context, name string) (*meta.Repository, error) {
	r, err := scanRepository(q.db.QueryRow(ctx, sqlGetRepository, name))
	if err != nil {
		return nil, fmt.Errorf("get repository %s: %w", name, err)
	}
	return r, nil
}

func (q querier) UpdateRepositorySettings(ctx context.Context, name string, settings []byte) error {
	if err := q.execOne(ctx, sqlUpdateRepositorySettings, name, settings); err != nil {
		return fmt.Errorf("update repository settings %s: %w", name, err)
	}
	return nil
}

func (q querier) DeleteRepository(ctx context.Context, name string) error {
	if err := q.execOne(ctx, sqlDeleteRepository, name); err != nil {
		return fmt.Errorf("delete repository %s: %w", name, err)
	}
	return nil
}

func (q querier) ListRepositories(ctx context.Context, after string, limit int) ([]meta.Repository, error) {
	out, err := collect(ctx, q.db, scanRepository, sqlListRepositories, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return out, nil
}

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, db dbtx, scan func(pgx.Row) (*T, error), sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Blobs.

func (q querier) PutBlob(ctx context.Context, b meta.Blob) error {
	if _, err := q.exec(ctx, sqlPutBlob, string(b.Digest), b.Size, nanos(b.CreatedAt)); err != nil {
		return fmt.Errorf("put blob %s: %w", b.Digest, err)
	}
	return nil
}

func scanBlob(row pgx.Row) (*meta.Blob, error) {
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

func (q querier) GetBlob(ctx context.Context, dgst digest.Digest) (*meta.Blob, error) {
	b, err := scanBlob(q.db.QueryRow(ctx, sqlGetBlob, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", dgst, err)
	}
	return b, nil
}

func (q querier) LinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	if _, err := q.exec(ctx, sqlLinkBlob, repo, string(dgst), time.Now().UnixNano()); err != nil {
		return fmt.Errorf("link blob %s into %s: %w", dgst, repo, err)
	}
	return nil
}

func (q querier) GetRepositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*meta.Blob, error) {
	b, err := scanBlob(q.db.QueryRow(ctx, sqlGetRepositoryBlob, repo, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get blob %s in %s: %w", dgst, repo, err)
	}
	return b, nil
}

func (q querier) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	if err := q.execOne(ctx, sqlUnlinkBlob, repo, string(dgst)); err != nil {
		return fmt.Errorf("unlink blob %s from %s: %w", dgst, repo, err)
	}
	return nil
}

// Manifests.

func (q querier) PutManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	if err := q.putManifest(ctx, m, refs); err != nil {
		return fmt.Errorf("put manifest %s@%s: %w", m.Repository, m.Digest, err)
	}
	return nil
}

func (q querier) putManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	var annotations *string
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return fmt.Errorf("encode annotations: %w", err)
		}
		s := string(b)
		annotations = &s
	}
	var inserted int64
	err := q.db.QueryRow(ctx, sqlPutManifest, m.Repository, string(m.Digest), m.MediaType, m.Content,
		m.ArtifactType, nullString(string(m.Subject)), nullString(string(m.ConfigDigest)), annotations,
		m.ImageSize, nanos(m.PushedAt), nullNanos(m.LastPulledAt), digestStrings(refs.Blobs), digestStrings(refs.Manifests),
	).Scan(&inserted)
	if err != nil {
		return classify(err)
	}
	return nil
}

func scanManifest(s pgx.Row) (*meta.Manifest, error) {
	var (
		m                      meta.Manifest
		dgst                   string
		subject, config, annot *string
		pushed                 int64
		pulled                 *int64
	)
	if err := s.Scan(&m.Repository, &dgst, &m.MediaType, &m.Content, &m.ArtifactType, &subject,
		&config, &annot, &m.ImageSize, &pushed, &pulled); err != nil {
		return nil, classify(err)
	}
	m.Digest = digest.Digest(dgst)
	m.Subject = digest.Digest(derefString(subject))
	m.ConfigDigest = digest.Digest(derefString(config))
	m.PushedAt = fromNanos(pushed)
	m.LastPulledAt = fromNullNanos(pulled)
	if annot != nil && *annot != "" {
		if err := json.Unmarshal([]byte(*annot), &m.Annotations); err != nil {
			return nil, fmt.Errorf("decode annotations: %w", err)
		}
	}
	return &m, nil
}

func (q querier) GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*meta.Manifest, error) {
	m, err := scanManifest(q.db.QueryRow(ctx, sqlGetManifest, repo, string(dgst)))
	if err != nil {
		return nil, fmt.Errorf("get manifest %s@%s: %w", repo, dgst, err)
	}
	return m, nil
}

func (q querier) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	if err := q.execOne(ctx, sqlDeleteManifest, repo, string(dgst)); err != nil {
		return fmt.Errorf("delete manifest %s@%s: %w", repo, dgst, err)
	}
	return nil
}

func (q querier) ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error) {
	ds, err := collect(ctx, q.db, scanDigest, sqlManifestParents, repo, string(dgst))
	if err != nil {
		return nil, fmt.Errorf("manifest parents %s@%s: %w", repo, dgst, err)
	}
	return ds, nil
}

func (q querier) ListManifests(ctx context.Context, repo string, after digest.Digest, limit int) ([]meta.Manifest, error) {
	ms, err := collect(ctx, q.db, scanManifest, sqlListManifests, repo, string(after), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list manifests %s: %w", repo, err)
	}
	return ms, nil
}

func (q querier) ListReferrers(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	ms, err := collect(ctx, q.db, scanManifest, sqlListReferrers, repo, string(subject), artifactType)
	if err != nil {
		return nil, fmt.Errorf("list referrers %s@%s: %w", repo, subject, err)
	}
	return ms, nil
}

func (q querier) RecordPull(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	if err := q.execOne(ctx, sqlRecordPull, repo, string(dgst), nanos(at)); err != nil {
		return fmt.Errorf("record pull %s@%s: %w", repo, dgst, err)
	}
	return nil
}

// Tags.

func (q querier) SetTag(ctx context.Context, repo, tag string, dgst digest.Digest, at time.Time) (digest.Digest, error) {
	var prev *string
	if err := q.db.QueryRow(ctx, sqlSetTag, repo, tag, string(dgst), nanos(at)).Scan(&prev); err != nil {
		return "", fmt.Errorf("set tag %s:%s: %w", repo, tag, classify(err))
	}
	return digest.Digest(derefString(prev)), nil
}

func (q querier) GetTag(ctx context.Context, repo, tag string) (*meta.TagInfo, error) {
	var t meta.TagInfo
	var d string
	var updated int64
	if err := q.db.QueryRow(ctx, sqlGetTag, repo, tag).Scan(&t.Name, &d, &updated); err != nil {
		return nil, fmt.Errorf("get tag %s:%s: %w", repo, tag, classify(err))
	}
	t.Digest = digest.Digest(d)
	t.UpdatedAt = fromNanos(updated)
	return &t, nil
}

func (q querier) DeleteTag(ctx context.Context, repo, tag string) error {
	if err := q.execOne(ctx, sqlDeleteTag, repo, tag); err != nil {
		return fmt.Errorf("delete tag %s:%s: %w", repo, tag, err)
	}
	return nil
}

func (q querier) ListTags(ctx context.Context, repo, after string, limit int) ([]string, error) {
	tags, err := collect(ctx, q.db, scanString, sqlListTags, repo, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list tags %s: %w", repo, err)
	}
	return tags, nil
}

func (q querier) TagsOf(ctx context.Context, repo string, dgst digest.Digest) ([]string, error) {
	tags, err := collect(ctx, q.db, scanString, sqlTagsOf, repo, string(dgst))
	if err != nil {
		return nil, fmt.Errorf("tags of %s@%s: %w", repo, dgst, err)
	}
	return tags, nil
}

func (q querier) TagsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]string, error) {
	out, err := grouped[string](ctx, q, sqlTagsInRange, repo, first, last)
	if err != nil {
		return nil, fmt.Errorf("tags of %s@%s..%s: %w", repo, first, last, err)
	}
	return out, nil
}

func (q querier) ManifestParentsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]digest.Digest, error) {
	out, err := grouped[digest.Digest](ctx, q, sqlManifestParentsInRange, repo, first, last)
	if err != nil {
		return nil, fmt.Errorf("manifest parents %s@%s..%s: %w", repo, first, last, err)
	}
	return out, nil
}

// grouped runs a query of (digest, value) rows for the digests of repo
// from first to last and groups the values by digest, in row order.
func grouped[V ~string](ctx context.Context, q querier, sql, repo string, first, last digest.Digest) (map[digest.Digest][]V, error) {
	pairs, err := collect(ctx, q.db, scanPair, sql, repo, string(first), string(last))
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest][]V)
	for _, p := range pairs {
		out[digest.Digest(p[0])] = append(out[digest.Digest(p[0])], V(p[1]))
	}
	return out, nil
}

func scanPair(row pgx.Row) (*[2]string, error) {
	var p [2]string
	if err := row.Scan(&p[0], &p[1]); err != nil {
		return nil, err
	}
	return &p, nil
}

func scanString(row pgx.Row) (*string, error) {
	var s string
	if err := row.Scan(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func scanDigest(row pgx.Row) (*digest.Digest, error) {
	var s string
	if err := row.Scan(&s); err != nil {
		return nil, err
	}
	d := digest.Digest(s)
	return &d, nil
}

// Upload sessions.

func (q querier) CreateUpload(ctx context.Context, u *meta.Upload) error {
	if _, err := q.exec(ctx, sqlCreateUpload, u.ID, u.Repository, u.Offset, u.HashState, string(u.Algorithm),
		u.BackendState, nanos(u.StartedAt), nanos(u.UpdatedAt)); err != nil {
		return fmt.Errorf("create upload %s in %s: %w", u.ID, u.Repository, err)
	}
	return nil
}

func scanUpload(s pgx.Row) (*meta.Upload, error) {
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

func (q querier) GetUpload(ctx context.Context, id string) (*meta.Upload, error) {
	u, err := scanUpload(q.db.QueryRow(ctx, sqlGetUpload, id))
	if err != nil {
		return nil, fmt.Errorf("get upload %s: %w", id, err)
	}
	return u, nil
}

// UpdateUpload is a compare-and-swap on the offset. A missing session reports
// ErrNotFound rather than ErrConflict so the caller does not retry it.
func (q querier) UpdateUpload(ctx context.Context, u *meta.Upload, expectedOffset int64) error {
	var updated, exists bool
	err := q.db.QueryRow(ctx, sqlUpdateUpload, u.ID, u.Offset, u.HashState, string(u.Algorithm), u.BackendState,
		nanos(u.UpdatedAt), expectedOffset).Scan(&updated, &exists)
	switch {
	case err != nil:
		return fmt.Errorf("update upload %s: %w", u.ID, classify(err))
	case updated:
		return nil
	case !exists:
		return fmt.Errorf("update upload %s: %w", u.ID, meta.ErrNotFound)
	default:
		return fmt.Errorf("update upload %s: offset is no longer %d: %w", u.ID, expectedOffset, meta.ErrConflict)
	}
}

func (q querier) DeleteUpload(ctx context.Context, id string) error {
	if err := q.execOne(ctx, sqlDeleteUpload, id); err != nil {
		return fmt.Errorf("delete upload %s: %w", id, err)
	}
	return nil
}

func (q querier) ListStaleUploads(ctx context.Context, updatedBefore time.Time, limit int) ([]meta.Upload, error) {
	out, err := collect(ctx, q.db, scanUpload, sqlListStaleUploads, nanos(updatedBefore), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list stale uploads: %w", err)
	}
	return out, nil
}

// Settings.

func (q querier) GetSetting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := q.db.QueryRow(ctx, sqlGetSetting, key).Scan(&v); err != nil {
		return nil, fmt.Errorf("get setting %s: %w", key, classify(err))
	}
	if v == nil {
		v = []byte{} // a stored empty value is not "no value"
	}
	return v, nil
}

func (q querier) PutSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{} // nil would be NULL
	}
	if _, err := q.exec(ctx, sqlPutSetting, key, value, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

func (q querier) CreateSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := q.exec(ctx, sqlCreateSetting, key, value, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("create setting %s: %w", key, err)
	}
	return nil
}
