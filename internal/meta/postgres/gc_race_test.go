package postgres

import (
	"testing"

	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/gc/gctest"
)

// TestGCConcurrentSafety runs the garbage collector's safety scenario on
// PostgreSQL: serializable transactions must keep the collector's
// re-checked deletions and concurrent pushes apart.
func TestGCConcurrentSafety(t *testing.T) {
	s := openStore(t, freshDSN(t))
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	gctest.RunConcurrency(t, s, b, 8, 40)
}
