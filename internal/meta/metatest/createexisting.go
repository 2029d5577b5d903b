package metatest

import (
	"testing"

	"github.com/berth-registry/berth/internal/meta"
)

// testCreateExistingInTx checks that creating a repository that exists
// reports ErrExists and leaves the transaction usable, as create-on-push
// relies on (PostgreSQL aborts a transaction on a unique violation).
func testCreateExistingInTx(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "exists")
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		err := q.CreateRepository(ctx, &meta.Repository{Name: "exists", CreatedAt: ts(2), Settings: []byte("{}")})
		wantErr(t, err, meta.ErrExists)
		// The same transaction goes on.
		return q.CreateRepository(ctx, &meta.Repository{Name: "after", CreatedAt: ts(2), Settings: []byte("{}")})
	}))
	if _, err := s.GetRepository(ctx, "after"); err != nil {
		t.Fatalf("write after ErrExists in the same transaction was lost: %v", err)
	}
}
