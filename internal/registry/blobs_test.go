package registry_test

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

// TestBlobLookupErrors covers the errors a client can reach through a blob
// HEAD, GET or DELETE: each names the right kind, whichever call asks.
func TestBlobLookupErrors(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	d := pushBlob(t, r, "team/app", []byte("linked into team/app"))
	elsewhere := pushBlob(t, r, "team/other", []byte("only in team/other"))
	missing := digest.FromString("never pushed")

	calls := map[string]func(repo string, dgst digest.Digest) error{
		"StatBlob": func(repo string, dgst digest.Digest) error {
			_, err := r.StatBlob(ctx, repo, dgst)
			return err
		},
		"OpenBlob": func(repo string, dgst digest.Digest) error {
			rc, _, err := r.OpenBlob(ctx, repo, dgst)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"DeleteBlob": func(repo string, dgst digest.Digest) error {
			return r.DeleteBlob(ctx, repo, dgst)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantKind(t, call("Bad_Name", d), registry.KindNameInvalid)
			wantKind(t, call("team/app", "sha256:short"), registry.KindDigestInvalid)
			wantKind(t, call("team/nope", d), registry.KindNameUnknown)
			wantKind(t, call("team/app", missing), registry.KindBlobUnknown)
			// Linked elsewhere is not linked here.
			wantKind(t, call("team/app", elsewhere), registry.KindBlobUnknown)
		})
	}

	if err := r.DeleteBlob(ctx, "team/app", d); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	wantKind(t, r.DeleteBlob(ctx, "team/app", d), registry.KindBlobUnknown)
	_, err := r.StatBlob(ctx, "team/app", d)
	wantKind(t, err, registry.KindBlobUnknown)
	if _, err := r.StatBlob(ctx, "team/other", elsewhere); err != nil {
		t.Fatalf("unlinking from team/app touched team/other: %v", err)
	}
}
