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
	// Committing content that already exists is not an error.
	CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error
	// AbortUpload releases an upload's storage (idempotent).
	AbortUpload(ctx context.Context, id string, state []byte) error
}
