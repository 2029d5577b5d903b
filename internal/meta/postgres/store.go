// Store routes each Queries method: reads to the read pool with retries on
// connection errors, writes to the serializable write pool, each one
// statement in its own transaction.

package postgres

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Reads.

// GetRepository implements meta.Queries on the read pool.
func (s *Store) GetRepository(ctx context.Context, name string) (*meta.Repository, error) {
	return read(ctx, s, "get repository", func(q querier) (*meta.Repository, error) { return q.GetRepository(ctx, name) })
}

// ListRepositories implements meta.Queries on the read pool.
func (s *Store) ListRepositories(ctx context.Context, after string, limit int) ([]meta.Repository, error) {
	return read(ctx, s, "list repositories", func(q querier) ([]meta.Repository, error) { return q.ListRepositories(ctx, after, limit) })
}

// GetBlob implements meta.Queries on the read pool.
func (s *Store) GetBlob(ctx context.Context, dgst digest.Digest) (*meta.Blob, error) {
	return read(ctx, s, "get blob", func(q querier) (*meta.Blob, error) { return q.GetBlob(ctx, dgst) })
}

// GetRepositoryBlob implements meta.Queries on the read pool.
func (s *Store) GetRepositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*meta.Blob, error) {
	return read(ctx, s, "get repository blob", func(q querier) (*meta.Blob, error) { return q.GetRepositoryBlob(ctx, repo, dgst) })
}

// GetManifest implements meta.Queries on the read pool.
func (s *Store) GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*meta.Manifest, error) {
	return read(ctx, s, "get manifest", func(q querier) (*meta.Manifest, error) { return q.GetManifest(ctx, repo, dgst) })
}

// ManifestParents implements meta.Queries on the read pool.
func (s *Store) ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error) {
	return read(ctx, s, "manifest parents", func(q querier) ([]digest.Digest, error) { return q.ManifestParents(ctx, repo, dgst) })
}

// ListManifests implements meta.Queries on the read pool.
func (s *Store) ListManifests(ctx context.Context, repo string, after digest.Digest, limit int) ([]meta.Manifest, error) {
	return read(ctx, s, "list manifests", func(q querier) ([]meta.Manifest, error) { return q.ListManifests(ctx, repo, after, limit) })
}

// ListReferrers implements meta.Queries on the read pool.
func (s *Store) ListReferrers(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]meta.Manifest, error) {
	return read(ctx, s, "list referrers", func(q querier) ([]meta.Manifest, error) {
		return q.ListReferrers(ctx, repo, subject, artifactType)
	})
}

// GetTag implements meta.Queries on the read pool.
func (s *Store) GetTag(ctx context.Context, repo, tag string) (*meta.TagInfo, error) {
	return read(ctx, s, "get tag", func(q querier) (*meta.TagInfo, error) { return q.GetTag(ctx, repo, tag) })
}

// ListTags implements meta.Queries on the read pool.
func (s *Store) ListTags(ctx context.Context, repo, after string, limit int) ([]string, error) {
	return read(ctx, s, "list tags", func(q querier) ([]string, error) { return q.ListTags(ctx, repo, after, limit) })
}

// TagsOf implements meta.Queries on the read pool.
func (s *Store) TagsOf(ctx context.Context, repo string, dgst digest.Digest) ([]string, error) {
	return read(ctx, s, "tags of", func(q querier) ([]string, error) { return q.TagsOf(ctx, repo, dgst) })
}

// ManifestParentsInRange implements meta.Queries on the read pool.
func (s *Store) ManifestParentsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]digest.Digest, error) {
	return read(ctx, s, "manifest parents in range", func(q querier) (map[digest.Digest][]digest.Digest, error) {
		return q.ManifestParentsInRange(ctx, repo, first, last)
	})
}

// TagsInRange implements meta.Queries on the read pool.
func (s *Store) TagsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]string, error) {
	return read(ctx, s, "tags in range", func(q querier) (map[digest.Digest][]string, error) {
		return q.TagsInRange(ctx, repo, first, last)
	})
}

// GetUpload implements meta.Queries on the read pool.
func (s *Store) GetUpload(ctx context.Context, id string) (*meta.Upload, error) {
	return read(ctx, s, "get upload", func(q querier) (*meta.Upload, error) { return q.GetUpload(ctx, id) })
}

// ListStaleUploads implements meta.Queries on the read pool.
func (s *Store) ListStaleUploads(ctx context.Context, updatedBefore time.Time, limit int) ([]meta.Upload, error) {
	return read(ctx, s, "list stale uploads", func(q querier) ([]meta.Upload, error) {
		return q.ListStaleUploads(ctx, updatedBefore, limit)
	})
}

// GetSetting implements meta.Queries on the read pool.
func (s *Store) GetSetting(ctx context.Context, key string) ([]byte, error) {
	return read(ctx, s, "get setting", func(q querier) ([]byte, error) { return q.GetSetting(ctx, key) })
}

// Writes.

// CreateRepository implements meta.Queries on the write pool.
func (s *Store) CreateRepository(ctx context.Context, repo *meta.Repository) error {
	return s.write(ctx, "create repository", func(q querier) error { return q.CreateRepository(ctx, repo) })
}

// UpdateRepositorySettings implements meta.Queries on the write pool.
func (s *Store) UpdateRepositorySettings(ctx context.Context, name string, settings []byte) error {
	return s.write(ctx, "update repository settings", func(q querier) error {
		return q.UpdateRepositorySettings(ctx, name, settings)
	})
}

// DeleteRepository implements meta.Queries on the write pool.
func (s *Store) DeleteRepository(ctx context.Context, name string) error {
	return s.write(ctx, "delete repository", func(q querier) error { return q.DeleteRepository(ctx, name) })
}

// PutBlob implements meta.Queries on the write pool.
func (s *Store) PutBlob(ctx context.Context, b meta.Blob) error {
	return s.writeIdempotent(ctx, "put blob", func(q querier) error { return q.PutBlob(ctx, b) })
}

// LinkBlob implements meta.Queries on the write pool.
func (s *Store) LinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.writeIdempotent(ctx, "link blob", func(q querier) error { return q.LinkBlob(ctx, repo, dgst) })
}

// UnlinkBlob implements meta.Queries on the write pool.
func (s *Store) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, "unlink blob", func(q querier) error { return q.UnlinkBlob(ctx, repo, dgst) })
}

// PutManifest implements meta.Queries on the write pool.
func (s *Store) PutManifest(ctx context.Context, m *meta.Manifest, refs meta.Refs) error {
	return s.writeIdempotent(ctx, "put manifest", func(q querier) error { return q.PutManifest(ctx, m, refs) })
}

// DeleteManifest implements meta.Queries on the write pool.
func (s *Store) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.write(ctx, "delete manifest", func(q querier) error { return q.DeleteManifest(ctx, repo, dgst) })
}

// RecordPull implements meta.Queries on the write pool.
func (s *Store) RecordPull(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error {
	return s.writeIdempotent(ctx, "record pull", func(q querier) error { return q.RecordPull(ctx, repo, dgst, at) })
}

// SetTag implements meta.Queries on the write pool.
func (s *Store) SetTag(ctx context.Context, repo, tag string, dgst digest.Digest, at time.Time) (previous digest.Digest, err error) {
	err = s.write(ctx, "set tag", func(q querier) error {
		previous, err = q.SetTag(ctx, repo, tag, dgst, at)
		return err
	})
	return previous, err
}

// DeleteTag implements meta.Queries on the write pool.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	return s.write(ctx, "delete tag", func(q querier) error { return q.DeleteTag(ctx, repo, tag) })
}

// CreateUpload implements meta.Queries on the write pool.
func (s *Store) CreateUpload(ctx context.Context, u *meta.Upload) error {
	return s.write(ctx, "create upload", func(q querier) error { return q.CreateUpload(ctx, u) })
}

// UpdateUpload implements meta.Queries on the write pool.
func (s *Store) UpdateUpload(ctx context.Context, u *meta.Upload, expectedOffset int64) error {
	return s.write(ctx, "update upload", func(q querier) error { return q.UpdateUpload(ctx, u, expectedOffset) })
}

// DeleteUpload implements meta.Queries on the write pool.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	return s.write(ctx, "delete upload", func(q querier) error { return q.DeleteUpload(ctx, id) })
}

// PutSetting implements meta.Queries on the write pool.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, "put setting", func(q querier) error { return q.PutSetting(ctx, key, value) })
}

// CreateSetting implements meta.Queries on the write pool.
func (s *Store) CreateSetting(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, "create setting", func(q querier) error { return q.CreateSetting(ctx, key, value) })
}
