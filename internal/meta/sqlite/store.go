// Store routes each Queries method: reads to the read pool, writes to a
// write transaction of their own.

package sqlite

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Reads.

// GetRepository implements meta.Queries on the read pool.
func (s *Store) GetRepository(ctx context.Context, name string) (*meta.Repository, error) {
	return s.reads.GetRepository(ctx, name)
}

// ListRepositories implements meta.Queries on the read pool.
func (s *Store) ListRepositories(ctx context.Context, after string, limit int) ([]meta.Repository, error) {
	return s.reads.ListRepositories(ctx, after, limit)
}

// GetBlob implements meta.Queries on the read pool.
func (s *Store) GetBlob(ctx context.Context, dgst digest.Digest) (*meta.Blob, error) {
	return s.reads.GetBlob(ctx, dgst)
}

// GetRepositoryBlob implements meta.Queries on the read pool.
func (s *Store) GetRepositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*meta.Blob, error) {
	return s.reads.GetRepositoryBlob(ctx, repo, dgst)
}

// GetManifest implements meta.Queries on the read pool.
func (s *Store) GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*meta.Manifest, error) {
	return s.reads.GetManifest(ctx, repo, dgst)
}

// ManifestParents implements meta.Queries on the read pool.
func (s *Store) ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error) {
	return s.reads.ManifestParents(ctx, repo, dgst)
}

// ListManifests implements meta.Queries on the read pool.
func (s *Store) ListManifests(ctx context.Context, repo string, after digest.Digest, limit int) ([]meta.Manifest, error) {
	return s.reads.ListManifests(ctx, repo, after, limit)
}

// ListReferrers implements meta.Queries on the read pool.
func (s *Store) ListReferrers(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	return s.reads.ListReferrers(ctx, repo, subject, artifactType)
}

// GetTag implements meta.Queries on the read pool.
func (s *Store) GetTag(ctx context.Context, repo, tag string) (*meta.TagInfo, error) {
	return s.reads.GetTag(ctx, repo, tag)
}

// ListTags implements meta.Queries on the read pool.
func (s *Store) ListTags(ctx context.Context, repo, after string, limit int) ([]string, error) {
	return s.reads.ListTags(ctx, repo, after, limit)
}

// TagsOf implements meta.Queries on the read pool.
func (s *Store) TagsOf(ctx context.Context, repo string, dgst digest.Digest) ([]string, error) {
	return s.reads.TagsOf(ctx, repo, dgst)
}

// ManifestParentsInRange implements meta.Queries on the read pool.
func (s *Store) ManifestParentsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]digest.Digest, error) {
	return s.reads.ManifestParentsInRange(ctx, repo, first, last)
}

// TagsInRange implements meta.Queries on the read pool.
func (s *Store) TagsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]string, error) {
	return s.reads.TagsInRange(ctx, repo, first, last)
}

// GetUpload implements meta.Queries on the read pool.
func (s *Store) GetUpload(ctx context.Context, id string) (*meta.Upload, error) {
	return s.reads.GetUpload(ctx, id)
}

// ListStaleUploads implements meta.Queries on the read pool.
func (s *Store) ListStaleUploads(ctx context.Context, updatedBefore time.Time, limit int) ([]meta.Upload, error) {
	return s.reads.ListStaleUploads(ctx, updatedBefore, limit)
}

// GetSetting implements meta.Queries on the read pool.
func (s *Store) GetSetting(ctx context.Context, key string) ([]byte, error) {
	return s.reads.GetSetting(ctx, key)
}

// Writes.

// CreateRepository implements meta.Queries in its own write transaction.
func (s *Store) CreateRepository(ctx context.Context, repo *meta.Repository) error {
	return s.write(ctx, func(q *querier) error { return q.CreateRepository(ctx, repo) })
}

// UpdateRepositorySettings implements meta.Queries in its own write transaction.
func (s *Store) UpdateRepositorySettings(ctx context.Context, name string, settings []byte) error {
	return s.write(ctx, func(q *querier) error { return q.UpdateRepositorySettings(ctx, name, settings) })
}

// DeleteRepository implements meta.Queries in its own write transaction.
func (s *Store) DeleteRepository(ctx context.Context, name string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteRepository(ctx, name) })
}

// PutBlob implements meta.Queries in its own write transaction.
func (s *Store) PutBlob(ctx context.Context, b meta.Blob) error {
	return s.write(ctx, func(q *querier) error { return q.PutBlob(ctx, b) })
}

// LinkBlob implements meta.Queries in its own write transaction.
func (s *Store) LinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, func(q *querier) error { return q.LinkBlob(ctx, repo, dgst) })
}

// UnlinkBlob implements meta.Queries in its own write transaction.
func (s *Store) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, func(q *querier) error { return q.UnlinkBlob(ctx, repo, dgst) })
}

// PutManifest implements meta.Queries in its own write transaction.
func (s *Store) PutManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	return s.write(ctx, func(q *querier) error { return q.PutManifest(ctx, m, refs) })
}

// DeleteManifest implements meta.Queries in its own write transaction.
func (s *Store) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteManifest(ctx, repo, dgst) })
}

// RecordPull implements meta.Queries in its own write transaction.
func (s *Store) RecordPull(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	return s.write(ctx, func(q *querier) error { return q.RecordPull(ctx, repo, dgst, at) })
}

// DeleteTag implements meta.Queries in its own write transaction.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	return s.write(ctx, func(q *querier) error { return q.DeleteTag(ctx, repo, tag) })
}

// CreateUpload implements meta.Queries as a lazy write: upload sessions need no
// fsync of their own (writeLazy).
func (s *Store) CreateUpload(ctx context.Context, u *meta.Upload) error {
	return s.writeLazy(ctx, func(q *querier) error { return q.CreateUpload(ctx, u) })
}

// UpdateUpload implements meta.Queries as a lazy write: upload sessions need no
// fsync of their own (writeLazy).
func (s *Store) UpdateUpload(ctx context.Context, u *meta.Upload, expectedOffset int64) error {
	return s.writeLazy(ctx, func(q *querier) error { return q.UpdateUpload(ctx, u, expectedOffset) })
}

// DeleteUpload implements meta.Queries as a lazy write: upload sessions need no
// fsync of their own (writeLazy).
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.writeLazy(ctx, func(q *querier) error { return q.DeleteUpload(ctx, id) })
}

// SetTag implements meta.Queries in its own write transaction.
func (s *Store) SetTag(ctx context.Context, repo, tag string, dgst digest.Digest, at time.Time) (previous digest.Digest, err error) {
	err = s.write(ctx, func(q *querier) error {
		previous, err = q.SetTag(ctx, repo, tag, dgst, at)
		return err
	})
	return previous, err
}

// PutSetting implements meta.Queries in its own write transaction.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, func(q *querier) error { return q.PutSetting(ctx, key, value) })
}

// CreateSetting implements meta.Queries in its own write transaction.
func (s *Store) CreateSetting(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, func(q *querier) error { return q.CreateSetting(ctx, key, value) })
}
