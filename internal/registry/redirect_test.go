package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/registry"
)

// presigningFS is the filesystem store with a fake PresignGet, standing in
// for the S3 store.
type presigningFS struct {
	*fs.Store
	ttl time.Duration
	err error
}

func (p *presigningFS) PresignGet(_ context.Context, dgst digest.Digest, ttl time.Duration) (string, error) {
	p.ttl = ttl
	if p.err != nil {
		return "", p.err
	}
	return "https://bucket.example/blobs/" + dgst.Encoded(), nil
}

func TestBlobURL(t *testing.T) {
	ctx := context.Background()
	var ps *presigningFS
	r, _ := newCoreInDir(t, t.TempDir(), true, func(b *fs.Store) blob.Store {
		ps = &presigningFS{Store: b}
		return ps
	})
	d := pushBlob(t, r, "app", []byte("hello"))
	pushBlob(t, r, "other", []byte("elsewhere"))

	tests := []struct {
		name     string
		repo     string
		dgst     digest.Digest
		ttl      time.Duration
		storeErr error
		wantErr  bool
		wantKind registry.Kind
		wantTTL  time.Duration
	}{
		{name: "linked blob", repo: "app", dgst: d, ttl: 5 * time.Minute, wantTTL: 5 * time.Minute},
		{name: "ttl clamped", repo: "app", dgst: d, ttl: 48 * time.Hour, wantTTL: time.Hour},
		{name: "zero ttl", repo: "app", dgst: d, wantTTL: time.Hour},
		{name: "not linked into repo", repo: "other", dgst: d, wantErr: true, wantKind: registry.KindBlobUnknown},
		{name: "unknown repo", repo: "nope", dgst: d, wantErr: true, wantKind: registry.KindNameUnknown},
		{name: "bad digest", repo: "app", dgst: "sha256:zz", wantErr: true, wantKind: registry.KindDigestInvalid},
		{name: "bad name", repo: "Bad//Name", dgst: d, wantErr: true, wantKind: registry.KindNameInvalid},
		{name: "store failure", repo: "app", dgst: d, storeErr: errors.New("boom"), wantErr: true, wantKind: registry.KindInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps.err = tc.storeErr
			u, info, err := r.BlobURL(ctx, tc.repo, tc.dgst, tc.ttl)
			if tc.wantErr {
				wantKind(t, err, tc.wantKind)
				return
			}
			if err != nil {
				t.Fatalf("BlobURL: %v", err)
			}
			if u != "https://bucket.example/blobs/"+d.Encoded() || info.Digest != d || info.Size != 5 {
				t.Fatalf("got %q %+v", u, info)
			}
			if ps.ttl != tc.wantTTL {
				t.Fatalf("ttl = %s, want %s", ps.ttl, tc.wantTTL)
			}
		})
	}
}

func TestBlobURLWithoutPresign(t *testing.T) {
	r, _ := newCore(t, true)
	d := pushBlob(t, r, "app", []byte("hello"))
	if _, _, err := r.BlobURL(context.Background(), "app", d, time.Minute); !errors.Is(err, registry.ErrNoPresign) {
		t.Fatalf("err = %v, want ErrNoPresign", err)
	}
}
