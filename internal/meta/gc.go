package meta

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// BlobLink is a blob visible in a repository (a repository_blobs row).
type BlobLink struct {
	Repository string
	Digest     digest.Digest
	CreatedAt  time.Time
}

// Blob deletion states.
const (
	// BlobDeleting: the blob's metadata row is gone and its bytes are being
	// (or may be) deleted. Nothing may record the digest again until the
	// deletion finishes.
	BlobDeleting = "DELETING"
	// BlobDeleted: the bytes were deleted at FinishedAt. A writer that
	// committed bytes under the digest before then must check they are still
	// there before recording them.
	BlobDeleted = "DELETED"
)

// BlobDeletion is the garbage collector's tombstone for one digest whose
// bytes it deletes. It brackets every deletion of bytes so that a concurrent
// push can never record a blob whose bytes are gone (see internal/gc).
type BlobDeletion struct {
	Digest     digest.Digest
	Size       int64
	State      string
	StartedAt  time.Time
	FinishedAt time.Time // zero while DELETING
}

// RepositoryUsage is a repository's storage use.
type RepositoryUsage struct {
	Repository string
	// Images is the number of manifests; Tagged those with at least one tag.
	Images, Tagged, Tags int64
	// RawBytes is the sum of the images' sizes (layers shared between
	// images counted once per image); DedupBytes counts each distinct blob
	// referenced by the repository's manifests once.
	RawBytes, DedupBytes int64
}

// GCQueries are the metadata operations of online garbage collection and
// usage reporting.
type GCQueries interface {
	// ListGarbageBlobs returns up to limit blobs created before cutoff that no
	// repository links and no manifest references, ordered by digest after
	// the given digest.
	ListGarbageBlobs(ctx context.Context, createdBefore time.Time, after digest.Digest, limit int) ([]Blob, error)
	// DeleteGarbageBlob deletes the blob row only if it is still garbage
	// (created before cutoff, unlinked, unreferenced); it reports whether it did.
	DeleteGarbageBlob(ctx context.Context, dgst digest.Digest, createdBefore time.Time) (bool, error)
	// ListGarbageLinks returns up to limit links created before cutoff that no
	// manifest of their repository references, ordered by (repository,
	// digest) after the given pair.
	ListGarbageLinks(ctx context.Context, createdBefore time.Time, afterRepo string, afterDigest digest.Digest, limit int) ([]BlobLink, error)
	// DeleteGarbageLink deletes the link only if it is still garbage; it
	// reports whether it did.
	DeleteGarbageLink(ctx context.Context, repo string, dgst digest.Digest, createdBefore time.Time) (bool, error)

	// PutBlobDeletion creates or replaces the tombstone of d.Digest.
	PutBlobDeletion(ctx context.Context, d *BlobDeletion) error
	GetBlobDeletion(ctx context.Context, dgst digest.Digest) (*BlobDeletion, error) // ErrNotFound
	// ListBlobDeletions returns up to limit tombstones in the given state
	// ordered by digest after the given digest.
	ListBlobDeletions(ctx context.Context, state string, after digest.Digest, limit int) ([]BlobDeletion, error)
	// PruneBlobDeletions removes DELETED tombstones finished before the given
	// time and returns how many it removed.
	PruneBlobDeletions(ctx context.Context, finishedBefore time.Time) (int64, error)

	// RepositoryUsage computes repo's usage (zero counts for an empty or
	// unknown repository).
	RepositoryUsage(ctx context.Context, repo string) (*RepositoryUsage, error)
}
