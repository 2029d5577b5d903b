package gc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/gc"
	"github.com/berth-registry/berth/internal/gc/gctest"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/registry"
)

// clock is a settable clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	meta  *sqlite.Store
	blobs *fs.Store
	root  string
	core  *registry.Registry
	gc    *gc.Collector
	clock *clock
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds the real core on SQLite and the filesystem store. wrap, if
// set, wraps the blob store the core sees.
func newEnv(t testing.TB, grace time.Duration, realClock bool, wrap func(blob.Store) blob.Store) *env {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlite.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	// Links are stamped with the store's wall clock, so the test clock
	// starts now and only moves forward.
	c := &clock{t: time.Now()}
	now := c.now
	if realClock {
		now = time.Now
	}
	var coreBlobs blob.Store = b
	if wrap != nil {
		coreBlobs = wrap(b)
	}
	core := registry.New(m, coreBlobs, registry.Config{CreateOnPush: true, RegistryID: "123456789012", UploadTTL: time.Hour, Now: now}, quiet())
	col, err := gc.New(m, b, gc.Config{GracePeriod: grace, Now: now}, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{meta: m, blobs: b, root: filepath.Join(dir, "blobs"), core: core, gc: col, clock: c}
}

func (e *env) pushBlob(ctx context.Context, repo string, data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	_, err := e.core.PutBlob(ctx, repo, d, bytes.NewReader(data))
	return d, err
}

func manifest(cfg, layer digest.Digest, cfgSize, layerSize int) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIManifest, cfg, cfgSize, layer, layerSize))
}

// pushImage pushes an image whose config is unique to seed and whose layer is
// layer (shared between images that pass the same one).
func (e *env) pushImage(ctx context.Context, repo, tag, seed string, layer []byte) (digest.Digest, error) {
	cfg := []byte(`{"seed":"` + seed + `"}`)
	cd, err := e.pushBlob(ctx, repo, cfg)
	if err != nil {
		return "", err
	}
	ld, err := e.pushBlob(ctx, repo, layer)
	if err != nil {
		return "", err
	}
	res, err := e.core.PutManifest(ctx, repo, tag, registry.MediaTypeOCIManifest, manifest(cd, ld, len(cfg), len(layer)), nil)
	return res.Digest, err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func runGC(t *testing.T, e *env) gc.Stats {
	t.Helper()
	st, err := e.gc.RunOnce(t.Context())
	must(t, err)
	return st
}

// blobFiles lists the digests whose bytes are in the blob store.
func blobFiles(t *testing.T, e *env) map[digest.Digest]time.Time {
	t.Helper()
	out := map[digest.Digest]time.Time{}
	must(t, e.blobs.WalkBlobs(t.Context(), func(d digest.Digest, _ int64, mod time.Time) error {
		out[d] = mod
		return nil
	}))
	return out
}

func hasBytes(t *testing.T, e *env, d digest.Digest) bool {
	t.Helper()
	_, err := e.blobs.Stat(t.Context(), d)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestCollect(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, time.Hour, false, nil)
	shared := []byte("shared layer bytes")
	a, err := e.pushImage(ctx, "app", "a", "a", shared)
	must(t, err)
	b, err := e.pushImage(ctx, "app", "b", "b", shared)
	must(t, err)
	untagged, err := e.pushImage(ctx, "app", "c", "c", []byte("layer of c"))
	must(t, err)
	must(t, e.core.DeleteManifest(ctx, "app", "c")) // untag only
	stray, err := e.pushBlob(ctx, "app", []byte("uploaded, never referenced"))
	must(t, err)
	cfgA := digest.FromString(`{"seed":"a"}`)
	must(t, e.core.DeleteManifest(ctx, "app", a.String())) // image delete returns at once
	if !hasBytes(t, e, cfgA) {
		t.Fatal("image delete removed bytes synchronously")
	}

	// Within the grace period nothing goes.
	e.clock.add(30 * time.Minute)
	if st := runGC(t, e); st != (gc.Stats{}) {
		t.Fatalf("within the grace period: %+v", st)
	}
	e.clock.add(time.Hour)
	st := runGC(t, e)
	want := int64(len(`{"seed":"a"}`) + len("uploaded, never referenced"))
	if st.Links != 2 || st.Blobs != 2 || st.ReclaimedBytes != want {
		t.Fatalf("stats = %+v, want 2 links, 2 blobs, %d bytes", st, want)
	}
	for d, wantBytes := range map[digest.Digest]bool{
		cfgA: false, stray: false,
		digest.FromBytes(shared): true, digest.FromString(`{"seed":"b"}`): true,
		digest.FromString(`{"seed":"c"}`): true, digest.FromString("layer of c"): true,
	} {
		if got := hasBytes(t, e, d); got != wantBytes {
			t.Errorf("bytes of %s present = %v, want %v", d, got, wantBytes)
		}
	}
	// Untagged manifests are not garbage: still pullable by digest.
	for _, d := range []digest.Digest{b, untagged} {
		if _, err := e.core.GetManifest(ctx, "app", d.String()); err != nil {
			t.Errorf("manifest %s after GC: %v", d, err)
		}
	}
	if st := runGC(t, e); st != (gc.Stats{}) {
		t.Fatalf("second run: %+v", st)
	}

	// A repository delete leaves its blobs for the next run.
	_, err = e.core.DeleteRepository(ctx, "app", true)
	must(t, err)
	st = runGC(t, e)
	if st.Blobs != 4 || st.Links != 0 {
		t.Fatalf("after repository delete: %+v, want 4 blobs", st)
	}
	if files := blobFiles(t, e); len(files) != 0 {
		t.Fatalf("bytes left: %v", files)
	}
}

func TestOrphanBytes(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, time.Hour, false, nil)
	// Bytes committed with no row: a crash between the rename and the
	// metadata transaction.
	data := []byte("orphan")
	d := digest.FromBytes(data)
	state, err := e.blobs.StartUpload(ctx, "u1")
	must(t, err)
	n, state, err := e.blobs.WriteUpload(ctx, "u1", state, 0, bytes.NewReader(data))
	must(t, err)
	must(t, e.blobs.CommitUpload(ctx, "u1", state, n, d))
	if st := runGC(t, e); st.Orphans != 0 {
		t.Fatalf("a fresh orphan was collected: %+v", st)
	}
	e.clock.add(2 * time.Hour)
	st := runGC(t, e)
	if st.Orphans != 1 || st.ReclaimedBytes != int64(len(data)) || hasBytes(t, e, d) {
		t.Fatalf("orphan not collected: %+v", st)
	}
	// Recorded bytes are not orphans, however old.
	kept, err := e.pushBlob(ctx, "repo", []byte("kept"))
	must(t, err)
	_, err = e.core.PutManifest(ctx, "repo", "t", registry.MediaTypeOCIManifest, manifest(kept, kept, 4, 4), nil)
	must(t, err)
	old := time.Now().Add(-48 * time.Hour)
	must(t, filepath.Walk(e.root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			return os.Chtimes(p, old, old)
		}
		return err
	}))
	e.clock.add(2 * time.Hour)
	if st := runGC(t, e); st.Orphans != 0 || !hasBytes(t, e, kept) {
		t.Fatalf("recorded blob collected as an orphan: %+v", st)
	}
}

// racingStore runs hook right after a commit, between the bytes landing and
// the core's metadata transaction: where a concurrent collector may strike.
type racingStore struct {
	blob.Store
	hook func(dgst digest.Digest)
}

func (s racingStore) CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error {
	if err := s.Store.CommitUpload(ctx, id, state, size, dgst); err != nil {
		return err
	}
	s.hook(dgst)
	return nil
}

// TestPushRacingDeletion interleaves a push of bytes that are garbage with
// the collector deleting them, at the one point where it matters.
func TestPushRacingDeletion(t *testing.T) {
	data := []byte("garbage, pushed again")
	d := digest.FromBytes(data)
	tests := []struct {
		name string
		// strike runs between the push's commit and its transaction.
		strike  func(t *testing.T, e *env)
		wantErr bool
	}{
		{"no collection", func(*testing.T, *env) {}, false},
		{"row deleted, bytes not yet", func(t *testing.T, e *env) {
			must(t, e.meta.InTx(t.Context(), func(q meta.Queries) error {
				ok, err := q.DeleteGarbageBlob(t.Context(), d, time.Now().Add(time.Hour))
				if err == nil && !ok {
					t.Error("blob was not garbage")
				}
				return q.PutBlobDeletion(t.Context(), &meta.BlobDeletion{Digest: d, Size: int64(len(data)), State: meta.BlobDeleting, StartedAt: time.Now()})
			}))
		}, true},
		{"deletion finished", func(t *testing.T, e *env) {
			e.clock.add(2 * time.Hour)
			st, err := e.gc.RunOnce(t.Context())
			must(t, err)
			if st.Blobs != 1 {
				t.Errorf("collector did not delete the blob: %+v", st)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			var e *env
			armed := false
			e = newEnv(t, time.Hour, false, func(b blob.Store) blob.Store {
				return racingStore{Store: b, hook: func(got digest.Digest) {
					if armed && got == d {
						armed = false
						tc.strike(t, e)
					}
				}}
			})
			// Make d garbage: pushed, unlinked by deleting its repository.
			_, err := e.pushBlob(ctx, "old", data)
			must(t, err)
			_, err = e.core.DeleteRepository(ctx, "old", true)
			must(t, err)
			e.clock.add(2 * time.Hour)

			armed = true
			_, err = e.pushBlob(ctx, "new", data)
			if tc.wantErr {
				if registry.KindOf(err) != registry.KindUnavailable {
					t.Fatalf("push = %v, want a retryable error", err)
				}
				// Let any pending deletion finish, then the retry works.
				runGC(t, e)
				_, err = e.pushBlob(ctx, "new", data)
			}
			must(t, err)
			// Whatever happened, a recorded blob has its bytes.
			if _, err := e.meta.GetRepositoryBlob(ctx, "new", d); err != nil {
				t.Fatalf("blob not recorded: %v", err)
			}
			if !hasBytes(t, e, d) {
				t.Fatal("blob recorded without bytes")
			}
			rc, _, err := e.core.OpenBlob(ctx, "new", d)
			must(t, err)
			rc.Close()
		})
	}
}

// TestConcurrentSafety runs the shared safety scenario on SQLite and the
// filesystem store (the PostgreSQL store runs it in its own package).
func TestConcurrentSafety(t *testing.T) {
	e := newEnv(t, 0, true, nil)
	gctest.RunConcurrency(t, e.meta, e.blobs, 8, 60)
}
