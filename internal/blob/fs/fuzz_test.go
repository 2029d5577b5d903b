package fs

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// FuzzPaths checks that no digest or upload id, however hostile, maps to a
// path outside its directory, and that the public entry points never panic.
func FuzzPaths(f *testing.F) {
	seeds := []string{
		"", "..", "../x", "/etc/passwd", "a/b", `a\b`, "sha256:", "sha256:..",
		string(digest.FromString("x")), string(digest.SHA512.FromString("x")),
		"sha256:../../../../../../etc/passwd", "sha512:" + strings.Repeat("0", 128),
		"0d7f9b3c-2f1e-4c1a-9b7e-3f9e1c2a4b5d", "sha256:" + strings.Repeat("A", 64),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s, err := New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in string) {
		if p, err := s.blobPath(digest.Digest(in)); err == nil {
			assertInside(t, s.blobs, p, 3)
		}
		if p, err := s.uploadPath(in); err == nil {
			assertInside(t, s.uploads, p, 1)
		}
		// None of these may panic; the results do not matter here.
		_, _ = s.Stat(ctx, digest.Digest(in))
		if rc, _, err := s.Open(ctx, digest.Digest(in)); err == nil {
			rc.Close()
		}
		if rc, err := s.ReadUpload(ctx, in, nil, 0); err == nil {
			rc.Close()
		}
	})
}

// assertInside checks that p is exactly depth path elements below dir.
func assertInside(t *testing.T, dir, p string, depth int) {
	t.Helper()
	if filepath.Clean(p) != p {
		t.Fatalf("path %q is not clean", p)
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		t.Fatalf("path %q not relative to %q: %v", p, dir, err)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != depth {
		t.Fatalf("path %q is %d elements below %q, want %d", p, len(parts), dir, depth)
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." {
			t.Fatalf("path %q has element %q", p, part)
		}
	}
}
