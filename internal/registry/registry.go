// Package registry is the domain core. Both API adapters (OCI /v2 and the ECR
// JSON API) call it; every invariant (name rules, reference integrity, the
// manifest size limit, tag immutability, digest verification) lives here and
// nowhere else.
package registry

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// Config tunes the core.
type Config struct {
	// CreateOnPush creates a missing repository on its first push.
	CreateOnPush bool
	// UploadTTL is how long an idle upload session lives before it is reclaimed.
	UploadTTL time.Duration
	// Now is the clock (tests inject one); defaults to time.Now.
	Now func() time.Time
}

// Registry is the domain core.
type Registry struct {
	meta  meta.Store
	blobs blob.Store
	cfg   Config
	log   *slog.Logger
}

// New builds the core over a metadata store and a blob store.
func New(m meta.Store, b blob.Store, cfg Config, log *slog.Logger) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UploadTTL <= 0 {
		cfg.UploadTTL = 24 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	return &Registry{meta: m, blobs: b, cfg: cfg, log: log}
}

// Catalog lists repository names in lexical order after the given name.
func (r *Registry) Catalog(ctx context.Context, after string, n int) ([]string, error) {
	panic("TODO")
}

// StatBlob reports a blob linked into repo.
func (r *Registry) StatBlob(ctx context.Context, repo string, dgst digest.Digest) (BlobInfo, error) {
	panic("TODO")
}

// OpenBlob opens a blob linked into repo. The reader is an *os.File on the
// filesystem store so callers can serve it with sendfile.
func (r *Registry) OpenBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadSeekCloser, BlobInfo, error) {
	panic("TODO")
}

// DeleteBlob unlinks a blob from repo. Bytes are reclaimed by garbage collection.
func (r *Registry) DeleteBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	panic("TODO")
}

// MountBlob links a blob that already exists in repository from (or anywhere
// in the registry when from is empty) into repo, without copying bytes.
// It returns KindBlobUnknown when there is nothing to mount.
func (r *Registry) MountBlob(ctx context.Context, repo, from string, dgst digest.Digest) (BlobInfo, error) {
	panic("TODO")
}

// StartUpload opens an upload session in repo.
func (r *Registry) StartUpload(ctx context.Context, repo string) (UploadStatus, error) {
	panic("TODO")
}

// GetUpload reports an upload session's progress.
func (r *Registry) GetUpload(ctx context.Context, repo, id string) (UploadStatus, error) {
	panic("TODO")
}

// AppendUpload appends body to an upload. offset is where the chunk claims to
// start (from Content-Range), or -1 when the client sent no range; a chunk
// that does not start at the current offset fails with KindRangeInvalid.
func (r *Registry) AppendUpload(ctx context.Context, repo, id string, offset int64, body io.Reader) (UploadStatus, error) {
	panic("TODO")
}

// CompleteUpload appends an optional final chunk (body may be nil), verifies
// the content against dgst, and commits the blob into repo.
func (r *Registry) CompleteUpload(ctx context.Context, repo, id string, offset int64, body io.Reader, dgst digest.Digest) (BlobInfo, error) {
	panic("TODO")
}

// CancelUpload abandons an upload session and releases its bytes.
func (r *Registry) CancelUpload(ctx context.Context, repo, id string) error {
	panic("TODO")
}

// PutBlob stores a whole blob in one call (monolithic upload).
func (r *Registry) PutBlob(ctx context.Context, repo string, dgst digest.Digest, body io.Reader) (BlobInfo, error) {
	panic("TODO")
}

// GetManifest resolves reference (a tag or a digest) in repo.
func (r *Registry) GetManifest(ctx context.Context, repo, reference string) (*Manifest, error) {
	panic("TODO")
}

// PutManifest validates and stores a manifest under reference (a tag or its
// digest) and additionally under every tag in extraTags.
func (r *Registry) PutManifest(ctx context.Context, repo, reference, contentType string, content []byte, extraTags []string) (PutManifestResult, error) {
	panic("TODO")
}

// DeleteManifest deletes a manifest when reference is a digest, or only the
// tag when reference is a tag.
func (r *Registry) DeleteManifest(ctx context.Context, repo, reference string) error {
	panic("TODO")
}

// ListTags lists repo's tags in lexical order after the given tag; n <= 0 means all.
func (r *Registry) ListTags(ctx context.Context, repo, after string, n int) ([]string, error) {
	panic("TODO")
}

// ListReferrers lists the manifests in repo whose subject is dgst, optionally
// filtered by artifactType.
func (r *Registry) ListReferrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) (Referrers, error) {
	panic("TODO")
}

// ReclaimStaleUploads removes upload sessions idle for longer than the upload
// TTL, with their bytes. It returns how many sessions were reclaimed.
func (r *Registry) ReclaimStaleUploads(ctx context.Context) (int, error) {
	panic("TODO")
}
