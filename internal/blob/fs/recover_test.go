package fs

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// loseRename undoes a commit's rename, as a crash before the filesystem
// made it durable would: the bytes are back under their upload name.
func loseRename(t *testing.T, s *Store, id string, dgst digest.Digest) {
	t.Helper()
	dst, err := s.blobPath(dgst)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst, filepath.Join(s.uploads, id)); err != nil {
		t.Fatalf("undo rename: %v", err)
	}
}

// writeOrphan leaves data as an upload file with no commit.
func writeOrphan(t *testing.T, s *Store, id string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.uploads, id), data, filePerm); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverCommits(t *testing.T) {
	data := []byte("layer bytes that were committed")
	sha256Digest := digest.FromBytes(data)
	sha512Digest := digest.NewDigestFromBytes(digest.SHA512, func() []byte { h := sha512.Sum512(data); return h[:] }())

	tests := []struct {
		name      string
		setup     func(t *testing.T, s *Store) // leaves upload "u1" behind
		recorded  []digest.Digest              // what the metadata store knows
		inSession bool
		restored  int
		wantBlob  digest.Digest // in place afterwards ("" = none expected)
		wantKept  bool          // upload file still there afterwards
	}{
		{
			name:     "lost rename is put back",
			setup:    func(t *testing.T, s *Store) { loseRename(t, s, "u1", upload(t, s, "u1", data, []int{len(data)})) },
			recorded: []digest.Digest{sha256Digest},
			restored: 1, wantBlob: sha256Digest,
		},
		{
			name: "lost rename of a sha512 blob into a missing prefix directory",
			setup: func(t *testing.T, s *Store) {
				writeOrphan(t, s, "u1", data)
				if _, err := os.Stat(filepath.Join(s.blobs, "sha512")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("sha512 directory exists before any sha512 commit: %v", err)
				}
			},
			recorded: []digest.Digest{sha512Digest},
			restored: 1, wantBlob: sha512Digest,
		},
		{
			name: "second copy of a blob in place is removed",
			setup: func(t *testing.T, s *Store) {
				upload(t, s, "u0", data, []int{len(data)})
				writeOrphan(t, s, "u1", data)
			},
			recorded: []digest.Digest{sha256Digest},
			restored: 0, wantBlob: sha256Digest,
		},
		{
			name:     "bytes the metadata store never recorded stay for the janitor",
			setup:    func(t *testing.T, s *Store) { writeOrphan(t, s, "u1", data) },
			recorded: nil,
			restored: 0, wantKept: true,
		},
		{
			name:      "an upload with a session is not touched",
			setup:     func(t *testing.T, s *Store) { writeOrphan(t, s, "u1", data) },
			recorded:  []digest.Digest{sha256Digest},
			inSession: true,
			restored:  0, wantKept: true,
		},
		{
			name:     "a partial upload matches nothing",
			setup:    func(t *testing.T, s *Store) { writeOrphan(t, s, "u1", data[:10]) },
			recorded: []digest.Digest{sha256Digest},
			restored: 0, wantKept: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			tt.setup(t, s)
			recorded := func(_ context.Context, d digest.Digest) (bool, error) {
				for _, r := range tt.recorded {
					if r == d {
						return true, nil
					}
				}
				return false, nil
			}
			var asked []string
			inSession := func(id string) bool { asked = append(asked, id); return tt.inSession }

			n, err := s.RecoverCommits(context.Background(), recorded, inSession)
			if err != nil {
				t.Fatalf("RecoverCommits: %v", err)
			}
			if n != tt.restored {
				t.Errorf("restored %d, want %d", n, tt.restored)
			}
			if len(asked) != 1 || asked[0] != "u1" {
				t.Errorf("sessions asked about %v, want [u1]", asked)
			}
			if tt.wantBlob != "" {
				if got := readBlob(t, s, tt.wantBlob); !bytes.Equal(got, data) {
					t.Errorf("blob %s holds %q", tt.wantBlob, got)
				}
			}
			_, err = os.Stat(filepath.Join(s.uploads, "u1"))
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("upload file kept = %v (%v), want %v", kept, err, tt.wantKept)
			}
		})
	}
}

func TestRecoverCommitsLookupError(t *testing.T) {
	s, _ := newStore(t)
	writeOrphan(t, s, "u1", []byte("bytes"))
	errDown := errors.New("metadata store down")
	_, err := s.RecoverCommits(context.Background(),
		func(context.Context, digest.Digest) (bool, error) { return false, errDown },
		func(string) bool { return false })
	if !errors.Is(err, errDown) {
		t.Fatalf("RecoverCommits: %v, want %v", err, errDown)
	}
	if _, err := os.Stat(filepath.Join(s.uploads, "u1")); err != nil {
		t.Errorf("upload file gone after a failed lookup: %v", err)
	}
}

func TestRecoverCommitsSkipsBusyUploads(t *testing.T) {
	s, _ := newStore(t)
	data := []byte("being written")
	writeOrphan(t, s, "u1", data)
	release, err := s.claim("u1")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	n, err := s.RecoverCommits(context.Background(),
		func(context.Context, digest.Digest) (bool, error) { return true, nil },
		func(string) bool { return false })
	if err != nil || n != 0 {
		t.Fatalf("RecoverCommits = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.Stat(context.Background(), digest.FromBytes(data)); err == nil {
		t.Error("a busy upload was renamed into place")
	}
}
