package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// checkCollectedBlob runs inside the transaction that records bytes a push
// has just committed to the blob store (linkNewBlob). It closes the one race
// between a push and online garbage collection (internal/gc):
//
// Committing bytes that already exist is a no-op in the blob store, so a push
// can "commit" bytes the collector is about to delete, and record them after
// the collector deleted them. The collector brackets every deletion of bytes
// with a tombstone: written DELETING in the transaction that removes the blob
// row (re-checking that the blob is unreferenced), turned DELETED once the
// bytes are gone, kept for a while. So here:
//
//   - no tombstone: no deletion has touched this digest lately; the bytes
//     this push committed are in place, and no deletion can start now
//     without seeing the row this transaction writes;
//   - DELETING: the bytes may vanish at any moment: refuse (retryable), the
//     client uploads again;
//   - DELETED: the deletion finished; the bytes are there only if this push
//     committed them after it. Check.
func (r *Registry) checkCollectedBlob(ctx context.Context, q meta.Queries, dgst digest.Digest) error {
	d, err := q.GetBlobDeletion(ctx, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return internal(err, "check garbage collection of blob %s", dgst)
	}
	if d.State == meta.BlobDeleting {
		return errCollected(dgst)
	}
	switch _, err := r.blobs.Stat(ctx, dgst); {
	case errors.Is(err, blob.ErrNotFound):
		return errCollected(dgst)
	case err != nil:
		return internal(err, "stat blob %s", dgst)
	}
	return nil
}

func errCollected(dgst digest.Digest) *Error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf("blob %s was being garbage collected while it was uploaded; upload it again", dgst),
		Detail: map[string]string{"digest": dgst.String()}}
}
