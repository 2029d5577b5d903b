package registry_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/registry"
)

// encryptingStore is the filesystem store posing as one that encrypts per
// blob (as S3 does): it records the encryption each commit asks for.
type encryptingStore struct {
	*fs.Store
	mu      sync.Mutex
	commits map[digest.Digest][]blob.Encryption
	plain   int // commits without an encryption
}

func (s *encryptingStore) CommitUploadEncrypted(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest, enc blob.Encryption) error {
	s.mu.Lock()
	s.commits[dgst] = append(s.commits[dgst], enc)
	s.mu.Unlock()
	return s.Store.CommitUpload(ctx, id, state, size, dgst)
}

func (s *encryptingStore) CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error {
	s.mu.Lock()
	s.plain++
	s.mu.Unlock()
	return s.Store.CommitUpload(ctx, id, state, size, dgst)
}

// countingStore is the filesystem store as it is, counting commits.
type countingStore struct {
	*fs.Store
	commits int
}

func (s *countingStore) CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error {
	s.commits++
	return s.Store.CommitUpload(ctx, id, state, size, dgst)
}

func newCoreOn(t *testing.T, wrap func(*fs.Store) blob.Store) *registry.Registry {
	t.Helper()
	r, _ := newCoreInDir(t, t.TempDir(), true, wrap)
	return r
}

// pushChunked pushes data into repo as a chunked upload with a final chunk.
func pushChunked(t *testing.T, r *registry.Registry, repo string, data []byte) digest.Digest {
	t.Helper()
	ctx := context.Background()
	up, err := r.StartUpload(ctx, repo)
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	half := len(data) / 2
	if _, err := r.AppendUpload(ctx, repo, up.ID, 0, bytes.NewReader(data[:half])); err != nil {
		t.Fatalf("AppendUpload: %v", err)
	}
	d := digest.FromBytes(data)
	if _, err := r.CompleteUpload(ctx, repo, up.ID, int64(half), bytes.NewReader(data[half:]), d); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	return d
}

const testKMSKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// TestBlobCommitsCarryRepositoryEncryption: a store that encrypts per blob
// is told the committing repository's encryption configuration, for
// monolithic and chunked pushes alike, whichever way the repository came to
// be (created with settings, created on push, created from a template).
func TestBlobCommitsCarryRepositoryEncryption(t *testing.T) {
	ctx := context.Background()
	store := &encryptingStore{commits: map[digest.Digest][]blob.Encryption{}}
	r := newCoreOn(t, func(b *fs.Store) blob.Store { store.Store = b; return store })
	if _, err := r.CreateRepository(ctx, "secure", registry.RepositorySettings{EncryptionType: "KMS", KMSKey: testKMSKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateRepository(ctx, "managed", registry.RepositorySettings{EncryptionType: "KMS"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateRepository(ctx, "plain", registry.RepositorySettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateCreationTemplate(ctx, registry.CreationTemplate{
		Prefix: "team", AppliedFor: []string{registry.AppliedCreateOnPush},
		EncryptionType: "KMS_DSSE", KMSKey: testKMSKey,
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		repo         string
		want         blob.Encryption
		chunkedFirst bool // the first push (which may create the repository) is chunked
	}{
		{"secure", blob.Encryption{Type: "KMS", KMSKey: testKMSKey}, false},
		{"managed", blob.Encryption{Type: "KMS"}, false},
		{"plain", blob.Encryption{Type: "AES256"}, false},
		{"pushed/new", blob.Encryption{Type: "AES256"}, false},                      // created on push
		{"team/mono", blob.Encryption{Type: "KMS_DSSE", KMSKey: testKMSKey}, false}, // from a template
		{"team/chunked", blob.Encryption{Type: "KMS_DSSE", KMSKey: testKMSKey}, true},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			type pusher struct {
				name string
				fn   func(*testing.T, *registry.Registry, string, []byte) digest.Digest
			}
			pushes := []pusher{{"monolithic", pushBlob}, {"chunked", pushChunked}}
			if tt.chunkedFirst {
				pushes[0], pushes[1] = pushes[1], pushes[0]
			}
			for _, push := range pushes {
				d := push.fn(t, r, tt.repo, []byte(push.name+" blob of "+tt.repo))
				got := store.commits[d]
				if len(got) != 1 || got[0] != tt.want {
					t.Errorf("%s push: commits asked for %+v, want [%+v]", push.name, got, tt.want)
				}
			}
		})
	}
	if store.plain != 0 {
		t.Errorf("%d commits bypassed the encrypting commit", store.plain)
	}
}

// TestFilesystemStoreIgnoresEncryption: the filesystem store does not
// encrypt per blob, so pushes into a KMS repository commit as always.
func TestFilesystemStoreIgnoresEncryption(t *testing.T) {
	ctx := context.Background()
	var b blob.Store
	store := &countingStore{}
	r := newCoreOn(t, func(fsStore *fs.Store) blob.Store { b = fsStore; store.Store = fsStore; return store })
	if _, ok := b.(blob.EncryptingCommitter); ok {
		t.Fatal("the filesystem store implements EncryptingCommitter; encryption at rest is the disk's business")
	}
	if _, err := r.CreateRepository(ctx, "secure", registry.RepositorySettings{EncryptionType: "KMS", KMSKey: testKMSKey}); err != nil {
		t.Fatal(err)
	}
	data := []byte("bytes as they are")
	for _, d := range []digest.Digest{pushBlob(t, r, "secure", data), pushChunked(t, r, "secure", append(data, '!'))} {
		rc, info, err := r.OpenBlob(ctx, "secure", d)
		if err != nil {
			t.Fatalf("OpenBlob: %v", err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || digest.FromBytes(got) != d || info.Size != int64(len(got)) {
			t.Fatalf("read back %d bytes (%v), want blob %s", len(got), err, d)
		}
	}
	if store.commits != 2 {
		t.Fatalf("%d plain commits, want 2", store.commits)
	}
}
