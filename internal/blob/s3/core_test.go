package s3

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/registry"
)

// TestCoreCommitsWithRepositoryEncryption pushes through the domain core
// into this store on the test server and checks, on the wire, that a blob's
// object is created with its repository's encryption: aws:kms and the key
// for a KMS repository, the store's default (here sse=AES256) for a
// default one, and nothing new for a digest another repository committed
// first.
func TestCoreCommitsWithRepositoryEncryption(t *testing.T) {
	const kmsKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	ctx := context.Background()
	cfg := newTestConfig(t)
	cfg.SSE = "AES256"
	rt := &sseRecorder{}
	s := newRecordedStore(t, cfg, rt)
	m, err := sqlite.Open(ctx, t.TempDir()+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r := registry.New(m, s, registry.Config{CreateOnPush: true, RegistryID: "123456789012"}, nil)
	if _, err := r.CreateRepository(ctx, "secure", registry.RepositorySettings{EncryptionType: "KMS", KMSKey: kmsKey}); err != nil {
		t.Fatal(err)
	}

	// blobWrites pushes data into repo (monolithic, or chunked through
	// CompleteUpload) and returns the SSE headers of the writes to blobs/.
	blobWrites := func(t *testing.T, repo string, data []byte, chunked bool) []string {
		t.Helper()
		rt.take()
		d := digest.FromBytes(data)
		if chunked {
			up, err := r.StartUpload(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.CompleteUpload(ctx, repo, up.ID, 0, bytes.NewReader(data), d); err != nil {
				t.Fatalf("CompleteUpload: %v", err)
			}
		} else if _, err := r.PutBlob(ctx, repo, d, bytes.NewReader(data)); err != nil {
			t.Fatalf("PutBlob: %v", err)
		}
		var out []string
		for _, req := range rt.take() {
			if strings.Contains(req.path, "/blobs/") {
				out = append(out, req.op+" "+req.sse+"|"+req.kmsKey)
			}
		}
		return out
	}

	shared := randBytes(t, 200)
	tests := []struct {
		name    string
		repo    string
		data    []byte
		chunked bool
		want    []string
	}{
		{"KMS repository, monolithic", "secure", randBytes(t, 100), false, []string{"copy aws:kms|" + kmsKey}},
		{"KMS repository, chunked", "secure", randBytes(t, 100), true, []string{"copy aws:kms|" + kmsKey}},
		{"default repository created on push", "plain", randBytes(t, 100), false, []string{"copy AES256|"}},
		{"default repository, chunked", "plain", randBytes(t, 100), true, []string{"copy AES256|"}},
		{"first commit of a shared blob", "plain", shared, false, []string{"copy AES256|"}},
		{"the shared blob again, from KMS", "secure", shared, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := blobWrites(t, tt.repo, tt.data, tt.chunked)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("writes to blobs/: %q, want %q", got, tt.want)
			}
		})
	}
}
