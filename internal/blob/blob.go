// Package blob defines the content-addressed blob store: bytes by digest and
// nothing else. Each blob is kept once per registry however many repositories
// use it; which repository may see which blob is metadata's business.
//
// Implementations: filesystem (default) and S3.
package blob

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

// ErrNotFound reports a missing blob or upload.
var ErrNotFound = errors.New("blob not found")

// ErrUnavailable marks failures of a remote store that a retry may cure
// (unreachable endpoint, 5xx, throttling). The core reports them as
// retryable (503) rather than as internal errors.
var ErrUnavailable = errors.New("blob store unavailable")

// Store is a content-addressed blob store.
type Store interface {
	// Stat returns the size of a committed blob, or ErrNotFound.
	Stat(ctx context.Context, dgst digest.Digest) (int64, error)
	// Open returns a committed blob for reading. The filesystem store returns
	// an *os.File so that http.ServeContent can use sendfile.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, int64, error)
	// Delete removes a committed blob's bytes (idempotent: a missing blob is not an error).
	Delete(ctx context.Context, dgst digest.Digest) error

	// StartUpload prepares storage for a new upload and returns its initial backend state.
	StartUpload(ctx context.Context, id string) (state []byte, err error)
	// WriteUpload appends r to the upload, which must currently hold exactly
	// offset bytes (bytes beyond offset from a failed earlier write are
	// discarded). It returns the number of bytes appended and the new state.
	// On error nothing beyond offset counts: the caller keeps the old offset
	// and state.
	WriteUpload(ctx context.Context, id string, state []byte, offset int64, r io.Reader) (n int64, newState []byte, err error)
	// ReadUpload returns the upload's first size bytes; used only when the
	// final digest algorithm differs from the one hashed while streaming.
	ReadUpload(ctx context.Context, id string, state []byte, size int64) (io.ReadCloser, error)
	// CommitUpload makes the upload's first size bytes durable and visible
	// under dgst (which the caller has verified), then releases the upload.
	// Committing content that already exists is not an error. A store that
	// implements CommitRecoverer may leave the new name's durability to the
	// caller's metadata commit.
	CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error
	// AbortUpload releases an upload's storage (idempotent).
	AbortUpload(ctx context.Context, id string, state []byte) error
}

// CommitRecoverer is implemented by stores whose CommitUpload does not make
// a blob's name durable by itself (the filesystem store: it fsyncs the bytes
// but not the rename into place, which the metadata commit that records the
// blob stands in for). A crash may then lose the name of a blob the metadata
// store has recorded while its bytes survive under their upload name;
// RecoverCommits finds such uploads (those inSession does not claim), puts
// back each one whose digest committed reports as recorded, and returns how
// many it restored. The core runs it once at startup, before serving.
type CommitRecoverer interface {
	RecoverCommits(ctx context.Context, committed func(context.Context, digest.Digest) (bool, error), inSession func(id string) bool) (int, error)
}

// Encryption is the server-side encryption a repository asks for the blobs
// it commits, in ECR's terms (a repository's encryptionConfiguration).
//
// Blobs are content-addressed and shared: one object per digest, however
// many repositories link it. So a blob is encrypted as the repository whose
// push first commits it asks; later commits, links and mounts of the same
// digest reuse the object as it is.
type Encryption struct {
	// Type is EncryptionAES256, EncryptionKMS, EncryptionKMSDSSE, or ""
	// for the store's default.
	Type string
	// KMSKey is the KMS key (id, alias or ARN) for the KMS types; empty
	// means the store's configured key, else the provider's managed key.
	KMSKey string
}

// Encryption types (ECR's encryptionType values).
const (
	// EncryptionAES256 asks for store-managed keys: the store's default.
	EncryptionAES256 = "AES256"
	// EncryptionKMS asks for a KMS key.
	EncryptionKMS = "KMS"
	// EncryptionKMSDSSE asks for dual-layer encryption with a KMS key.
	EncryptionKMSDSSE = "KMS_DSSE"
)

// EncryptingCommitter is implemented by stores that encrypt per blob (S3).
// The core calls it instead of Store.CommitUpload when the store has it.
// The filesystem store does not: encryption at rest there is the disk's
// business.
type EncryptingCommitter interface {
	// CommitUploadEncrypted is Store.CommitUpload, creating the blob's
	// object with enc. A blob that already exists keeps its encryption.
	CommitUploadEncrypted(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest, enc Encryption) error
}
