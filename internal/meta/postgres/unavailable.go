package postgres

import (
	"errors"
	"fmt"

	"github.com/berth-registry/berth/internal/meta"
)

// unavailable adds meta.ErrUnavailable to a connection error that outlasted
// the retries (the server is down, restarting or refusing connections), so
// the core reports it as a temporary outage (503 with Retry-After) rather
// than an internal error. Other errors are returned unchanged.
func unavailable(err error) error {
	if err == nil || errors.Is(err, meta.ErrUnavailable) || !isConnError(err) {
		return err
	}
	return fmt.Errorf("%w: %w", meta.ErrUnavailable, err)
}
