// Package gctest is the garbage collector's safety scenario, shared by the
// tests of every metadata store: many goroutines push, tag, untag and delete
// images sharing layers through the real core while the collector runs
// continuously with no grace period; afterwards the store must be consistent.
package gctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/gc"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

// Walkable is a blob store the check can list (the filesystem store).
type Walkable interface {
	blob.Store
	gc.Walker
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func manifest(cfg, layer digest.Digest, cfgSize, layerSize int) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIManifest, cfg, cfgSize, layer, layerSize))
}

func pushImage(ctx context.Context, core *registry.Registry, repo, tag, seed string, layer []byte) error {
	cfg := []byte(`{"seed":"` + seed + `"}`)
	for _, b := range [][]byte{cfg, layer} {
		if _, err := core.PutBlob(ctx, repo, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			return err
		}
	}
	_, err := core.PutManifest(ctx, repo, tag, registry.MediaTypeOCIManifest, manifest(digest.FromBytes(cfg), digest.FromBytes(layer), len(cfg), len(layer)), nil)
	return err
}

// RunConcurrency runs the scenario on m and b (both empty).
func RunConcurrency(t *testing.T, m meta.Store, b Walkable, workers, ops int) {
	ctx := t.Context()
	core := registry.New(m, b, registry.Config{CreateOnPush: true, RegistryID: "123456789012", UploadTTL: time.Hour}, quiet())
	col, err := gc.New(m, b, gc.Config{GracePeriod: 0}, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	layers := [][]byte{[]byte("layer-0"), []byte("layer-1"), []byte("layer-2"), []byte("layer-3")}
	repos := []string{"r/a", "r/b", "r/c"}

	// Two collectors, as on two nodes: their deletions race each other too.
	const collectors = 2
	stop := make(chan struct{})
	var gcRuns, reclaimed atomic.Int64
	gcDone := make(chan error, collectors)
	for range collectors {
		go func() {
			for {
				select {
				case <-stop:
					gcDone <- nil
					return
				default:
				}
				st, err := col.RunOnce(ctx)
				if err != nil && !errors.Is(err, meta.ErrConflict) {
					gcDone <- err
					return
				}
				gcRuns.Add(1)
				reclaimed.Add(st.ReclaimedBytes)
			}
		}()
	}

	var wg sync.WaitGroup
	var pushed, failed atomic.Int64
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range ops {
				repo := repos[rng.IntN(len(repos))]
				tag := fmt.Sprintf("t%d", rng.IntN(4))
				var err error
				switch op := rng.IntN(10); {
				case op < 5:
					err = pushImage(ctx, core, repo, tag, fmt.Sprintf("w%d-%d", w, i), layers[rng.IntN(len(layers))])
					if err == nil {
						pushed.Add(1)
					} else {
						failed.Add(1)
					}
				case op < 7:
					err = core.DeleteManifest(ctx, repo, tag) // untag
				case op < 9:
					if m, gerr := core.GetManifest(ctx, repo, tag); gerr == nil {
						err = core.DeleteManifest(ctx, repo, m.Digest.String())
					}
				default:
					_, err = core.DeleteRepository(ctx, repo, true)
				}
				// Losing a race is fine (the client retries); an internal
				// error is not.
				if err != nil && registry.KindOf(err) == registry.KindInternal {
					errs <- fmt.Errorf("worker %d op %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	for range collectors {
		if err := <-gcDone; err != nil {
			t.Errorf("collector: %v", err)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if pushed.Load() == 0 {
		t.Fatal("no push succeeded")
	}
	// A last collection with nothing running.
	if _, err := col.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("pushes: %d ok, %d lost a race; %d GC runs reclaimed %d bytes", pushed.Load(), failed.Load(), gcRuns.Load(), reclaimed.Load())
	Check(t, core, m, b, 0)
}

// Check asserts the store is consistent: every manifest is fully pullable
// with the right bytes, no deletion is left half done, and every byte file is
// recorded (grace 0) or younger than the grace period.
func Check(t *testing.T, core *registry.Registry, m meta.Store, b Walkable, grace time.Duration) {
	t.Helper()
	ctx := t.Context()
	repos, err := core.Catalog(ctx, "", -1)
	if err != nil {
		t.Fatal(err)
	}
	manifests := 0
	for _, repo := range repos {
		ms, err := m.ListManifests(ctx, repo, "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range ms {
			manifests++
			got, err := core.GetManifest(ctx, repo, mf.Digest.String())
			if err != nil {
				t.Fatal(err)
			}
			var refs struct {
				Config struct{ Digest digest.Digest }
				Layers []struct{ Digest digest.Digest }
			}
			if err := json.Unmarshal(got.Content, &refs); err != nil {
				t.Fatal(err)
			}
			ds := []digest.Digest{refs.Config.Digest}
			for _, l := range refs.Layers {
				ds = append(ds, l.Digest)
			}
			for _, d := range ds {
				rc, _, err := core.OpenBlob(ctx, repo, d)
				if err != nil {
					t.Errorf("manifest %s in %s: blob %s: %v", mf.Digest, repo, d, err)
					continue
				}
				data, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || digest.FromBytes(data) != d {
					t.Errorf("blob %s reads back wrong (%v)", d, err)
				}
			}
		}
	}
	pending, err := m.ListBlobDeletions(ctx, meta.BlobDeleting, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Errorf("deletions left half done: %+v", pending)
	}
	cutoff := time.Now().Add(-grace)
	files := 0
	err = b.WalkBlobs(ctx, func(d digest.Digest, _ int64, mod time.Time) error {
		files++
		_, err := m.GetBlob(ctx, d)
		if errors.Is(err, meta.ErrNotFound) && (grace == 0 || mod.Before(cutoff)) {
			t.Errorf("bytes of %s are neither recorded nor within the grace period", d)
			return nil
		}
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d repositories, %d manifests, %d blob files checked", len(repos), manifests, files)
}
