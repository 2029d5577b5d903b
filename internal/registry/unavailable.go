package registry

import (
	"errors"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// unavailableError turns a store error marked retryable (meta.ErrUnavailable,
// blob.ErrUnavailable) that reached an adapter without being wrapped in an
// *Error, e.g. a transaction that could not begin, into a KindUnavailable
// error, so clients get a retryable answer (503 + Retry-After) instead of an
// internal error.
func unavailableError(err error) (*Error, bool) {
	if err == nil || !errors.Is(err, meta.ErrUnavailable) && !errors.Is(err, blob.ErrUnavailable) {
		return nil, false
	}
	return &Error{Kind: KindUnavailable, Message: "a backing store is temporarily unavailable; try again", Err: err}, true
}
