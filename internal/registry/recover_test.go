package registry_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// A crash can lose the rename that put a pushed blob in place after the
// metadata store recorded it (the filesystem store does not fsync renames).
// On the next start the blob is back, and the janitor leaves it alone.
func TestRecoverBlobCommitsAfterLostRename(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, c := newCoreInDir(t, dir, true, nil)

	data := []byte("a layer the crash nearly lost")
	d := pushChunked(t, r, "team/app", data)
	kept := pushBlob(t, r, "team/app", []byte("a layer whose rename survived"))

	// The crash: the blob file is back under an upload name, with no session.
	final := filepath.Join(dir, "blobs", "blobs", "sha256", d.Encoded()[:2], d.Encoded())
	if err := os.Rename(final, filepath.Join(dir, "blobs", "uploads", "lost-rename")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.OpenBlob(ctx, "team/app", d); err == nil {
		t.Fatal("blob readable before recovery: the test did not lose it")
	}

	n, err := r.RecoverBlobCommits(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverBlobCommits = %d, %v; want 1, nil", n, err)
	}
	c.t = c.t.Add(48 * time.Hour) // every upload file is stale now
	if _, err := r.ReclaimStaleUploads(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		dgst  digest.Digest
		bytes []byte
	}{{d, data}, {kept, []byte("a layer whose rename survived")}} {
		rc, _, err := r.OpenBlob(ctx, "team/app", want.dgst)
		if err != nil {
			t.Fatalf("OpenBlob %s after recovery: %v", want.dgst, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want.bytes) {
			t.Fatalf("blob %s after recovery: %q, %v", want.dgst, got, err)
		}
	}
	if n, err := r.RecoverBlobCommits(ctx); err != nil || n != 0 {
		t.Errorf("second RecoverBlobCommits = %d, %v; want 0, nil", n, err)
	}
}
