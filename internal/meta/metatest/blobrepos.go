package metatest

import (
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// testBlobRepositories checks the lookup of where a blob is linked, on the
// store and inside a transaction.
func testBlobRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	d := digest.FromString("shared")
	must(t, s.PutBlob(ctx, meta.Blob{Digest: d, Size: 6, CreatedAt: ts(1)}))
	for _, r := range []string{"c", "a", "b"} {
		createRepo(t, s, r)
		must(t, s.LinkBlob(ctx, r, d))
	}
	createRepo(t, s, "unlinked")
	tests := []struct {
		limit int
		want  []string
	}{{0, []string{"a", "b", "c"}}, {2, []string{"a", "b"}}, {10, []string{"a", "b", "c"}}}
	for _, tt := range tests {
		got, err := s.BlobRepositories(ctx, d, tt.limit)
		must(t, err)
		if !slices.Equal(got, tt.want) {
			t.Errorf("BlobRepositories(limit %d) = %v, want %v", tt.limit, got, tt.want)
		}
	}
	got, err := s.BlobRepositories(ctx, digest.FromString("nowhere"), 0)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("unknown blob linked in %v", got)
	}
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		got, err := q.BlobRepositories(ctx, d, 1)
		if err == nil && !slices.Equal(got, []string{"a"}) {
			t.Errorf("in a transaction: %v", got)
		}
		return err
	}))
}
