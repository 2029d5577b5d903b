// Package meta defines the metadata store: the source of truth for what exists
// in the registry (repositories, manifests, tags, references, upload sessions).
// The blob store only holds bytes by digest; every listing, tag resolution and
// existence check comes from here.
//
// Two implementations share this contract: an embedded SQLite store (the
// default) and a PostgreSQL store for scale-out. One test suite (metatest)
// runs against both.
package meta

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors. Implementations wrap them with context; callers use errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict reports a lost optimistic-concurrency race (e.g. an upload
	// offset that moved underneath the caller). The caller may retry.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable marks failures a retry may cure (database unreachable,
	// restarting, failing over). The core reports them as retryable (503).
	ErrUnavailable = errors.New("metadata store unavailable")
)

// Repository is a named collection of manifests and tags.
type Repository struct {
	Name      string
	CreatedAt time.Time
	// Settings holds the ECR-facing repository configuration (mutability,
	// scanning, encryption, ...) as an opaque JSON document owned by the core,
	// so adding a setting needs no schema migration.
	Settings []byte
}

// Blob is a content-addressed object known to exist in the blob store.
type Blob struct {
	Digest    digest.Digest
	Size      int64
	CreatedAt time.Time
}

// Manifest is a stored manifest. Content is the exact bytes pushed.
type Manifest struct {
	Repository string
	Digest     digest.Digest
	MediaType  string
	Content    []byte
	// ArtifactType is the manifest's artifactType, or for images without one
	// the config media type (as the referrers API reports it).
	ArtifactType string
	// Subject is the digest in the manifest's subject field, if any.
	Subject digest.Digest
	// ConfigDigest is the image config digest (image manifests only).
	ConfigDigest digest.Digest
	// Annotations are the manifest's annotations, reported by the referrers API.
	Annotations map[string]string
	// ImageSize is the sum of config and layer sizes (image manifests) or of
	// the children's image sizes (indexes), as ECR reports imageSizeInBytes.
	ImageSize int64
	PushedAt  time.Time
	// LastPulledAt is nil until the first pull is recorded.
	LastPulledAt *time.Time
}

// Refs are the objects a manifest references; they must exist in the same
// repository when the manifest is stored.
type Refs struct {
	Blobs     []digest.Digest // config and layers (nondistributable layers excluded)
	Manifests []digest.Digest // child manifests of an index
}

// TagInfo is a tag and the manifest it points to.
type TagInfo struct {
	Name      string
	Digest    digest.Digest
	UpdatedAt time.Time
}

// Upload is an in-progress blob upload session. It lives in the metadata store
// so any node can continue it.
type Upload struct {
	ID         string
	Repository string
	// Offset is the number of bytes received and durably appended.
	Offset int64
	// HashState is the marshalled state of the running digest (encoding.BinaryMarshaler).
	HashState []byte
	// Algorithm is the digest algorithm HashState belongs to.
	Algorithm digest.Algorithm
	// BackendState is blob-store specific state (e.g. an S3 multipart upload id and parts).
	BackendState []byte
	StartedAt    time.Time
	UpdatedAt    time.Time
}

// Queries are the operations available both directly on a Store and inside a
// transaction.
//
// Beyond the per-method notes: LinkBlob, SetTag, PutManifest and CreateUpload
// return ErrNotFound when what they attach to (repository, blob, manifest)
// does not exist; UpdateUpload returns ErrNotFound for a missing session (not
// ErrConflict, so callers do not retry it); ListTags and ListManifests return
// an empty result for an unknown repository.
type Queries interface {
	BlobRepositoryQueries
	IAM              // iam.go
	LifecycleQueries // lifecycle.go
	GCQueries        // gc.go
	TemplateQueries  // templates.go
	ScanQueries      // scan.go
	// Repositories.
	CreateRepository(ctx context.Context, repo *Repository) error                     // ErrExists
	GetRepository(ctx context.Context, name string) (*Repository, error)              // ErrNotFound
	UpdateRepositorySettings(ctx context.Context, name string, settings []byte) error // ErrNotFound
	// DeleteRepository removes the repository with its manifests, tags, blob
	// links and uploads. Blob bytes are left for garbage collection.
	DeleteRepository(ctx context.Context, name string) error // ErrNotFound
	// ListRepositories returns up to limit repositories ordered by name, after the given name.
	ListRepositories(ctx context.Context, after string, limit int) ([]Repository, error)

	// Blobs. PutBlob records that bytes exist in the blob store (idempotent).
	PutBlob(ctx context.Context, b Blob) error
	GetBlob(ctx context.Context, dgst digest.Digest) (*Blob, error) // ErrNotFound
	// LinkBlob makes an existing blob visible in a repository (idempotent).
	LinkBlob(ctx context.Context, repo string, dgst digest.Digest) error
	// GetRepositoryBlob returns the blob only if it is linked into repo.
	GetRepositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*Blob, error) // ErrNotFound
	UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error                 // ErrNotFound

	// Manifests. PutManifest inserts the manifest with its references if it is
	// not already stored (idempotent for the same digest).
	PutManifest(ctx context.Context, m *Manifest, refs Refs) error
	GetManifest(ctx context.Context, repo string, dgst digest.Digest) (*Manifest, error) // ErrNotFound
	// DeleteManifest removes the manifest, its references and every tag pointing at it.
	DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error // ErrNotFound
	// ManifestParents lists the digests of indexes in repo that reference dgst as a child.
	ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error)
	// ManifestParentsInRange returns, by child digest, the parents in repo of
	// the children from first to last inclusive, each list in digest order:
	// the parents of a page of ListManifests in one query.
	ManifestParentsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]digest.Digest, error)
	// ListManifests returns up to limit manifests of repo ordered by digest, after the given digest.
	ListManifests(ctx context.Context, repo string, after digest.Digest, limit int) ([]Manifest, error)
	// ListReferrers returns manifests in repo whose subject is dgst, optionally
	// filtered by artifact type, ordered by digest.
	ListReferrers(ctx context.Context, repo string, subject digest.Digest, artifactType string) ([]Manifest, error)
	// RecordPull sets LastPulledAt.
	RecordPull(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error

	// Tags.
	// SetTag points tag at dgst (creating or moving it) and returns the previous target, if any.
	SetTag(ctx context.Context, repo, tag string, dgst digest.Digest, at time.Time) (previous digest.Digest, err error)
	GetTag(ctx context.Context, repo, tag string) (*TagInfo, error) // ErrNotFound
	DeleteTag(ctx context.Context, repo, tag string) error          // ErrNotFound
	// ListTags returns up to limit tags of repo in lexical order, after the given tag.
	ListTags(ctx context.Context, repo, after string, limit int) ([]string, error)
	// TagsOf returns the tags that point at dgst, in lexical order.
	TagsOf(ctx context.Context, repo string, dgst digest.Digest) ([]string, error)
	// TagsInRange returns, by digest, the tags that point at digests from
	// first to last inclusive, each list in lexical order: the tags of a
	// page of ListManifests in one query.
	TagsInRange(ctx context.Context, repo string, first, last digest.Digest) (map[digest.Digest][]string, error)

	// Upload sessions.
	CreateUpload(ctx context.Context, u *Upload) error
	GetUpload(ctx context.Context, id string) (*Upload, error) // ErrNotFound
	// UpdateUpload stores u if the stored offset still equals expectedOffset, else ErrConflict.
	UpdateUpload(ctx context.Context, u *Upload, expectedOffset int64) error
	DeleteUpload(ctx context.Context, id string) error // ErrNotFound
	// ListStaleUploads returns uploads last updated before the given time.
	ListStaleUploads(ctx context.Context, updatedBefore time.Time, limit int) ([]Upload, error)

	// Registry-wide settings: a small key/value map shared by every node
	// (account id, sealed root key, account settings). Values are opaque.
	GetSetting(ctx context.Context, key string) ([]byte, error)        // ErrNotFound
	PutSetting(ctx context.Context, key string, value []byte) error    // creates or replaces
	CreateSetting(ctx context.Context, key string, value []byte) error // ErrExists if present
}

// Store is a metadata store.
type Store interface {
	Queries
	// InTx runs fn in one serializable write transaction; if fn returns an
	// error everything it did is rolled back. Invariants that span several
	// reads and writes (reference integrity, tag immutability) are checked
	// inside one InTx. fn must use only q: calling Store methods inside it
	// would wait on the store's single writer.
	InTx(ctx context.Context, fn func(q Queries) error) error
	Close() error
}
