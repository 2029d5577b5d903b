package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/registry"
)

// clock is an adjustable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCore(t *testing.T, createOnPush bool) (*registry.Registry, *clock) {
	t.Helper()
	return newCoreInDir(t, t.TempDir(), createOnPush, nil)
}

// newCoreInDir builds a core on SQLite (dir/meta.db) and the filesystem
// store (dir/blobs), wrapped by wrap unless it is nil.
func newCoreInDir(t *testing.T, dir string, createOnPush bool, wrap func(*fs.Store) blob.Store) (*registry.Registry, *clock) {
	t.Helper()
	m, err := sqlite.Open(context.Background(), dir+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fs.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	var store blob.Store = b
	if wrap != nil {
		store = wrap(b)
	}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return registry.New(m, store, registry.Config{CreateOnPush: createOnPush, RegistryID: "123456789012", UploadTTL: time.Hour, Now: c.now}, nil), c
}

func wantKind(t *testing.T, err error, kind registry.Kind) {
	t.Helper()
	if registry.KindOf(err) != kind || err == nil {
		t.Fatalf("err = %v (kind %v), want kind %v", err, registry.KindOf(err), kind)
	}
}

func pushBlob(t *testing.T, r *registry.Registry, repo string, data []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(data)
	if _, err := r.PutBlob(context.Background(), repo, d, bytes.NewReader(data)); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	return d
}

func imageManifest(cfg, layer digest.Digest, cfgSize, layerSize int) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIManifest, cfg, cfgSize, layer, layerSize))
}

func pushImage(t *testing.T, r *registry.Registry, repo, tag string, seed string) digest.Digest {
	t.Helper()
	cfg := []byte(`{"seed":"` + seed + `"}`)
	layer := []byte("layer-" + seed)
	cd, ld := pushBlob(t, r, repo, cfg), pushBlob(t, r, repo, layer)
	res, err := r.PutManifest(context.Background(), repo, tag, registry.MediaTypeOCIManifest, imageManifest(cd, ld, len(cfg), len(layer)), nil)
	if err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	return res.Digest
}

func TestChunkedUpload(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(string(alg), func(t *testing.T) {
			up, err := r.StartUpload(ctx, "team/app")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.AppendUpload(ctx, "team/app", up.ID, 0, bytes.NewReader(data[:4000])); err != nil {
				t.Fatal(err)
			}
			// A chunk that does not start at the current offset is refused and changes nothing.
			_, err = r.AppendUpload(ctx, "team/app", up.ID, 5000, bytes.NewReader(data[5000:6000]))
			wantKind(t, err, registry.KindRangeInvalid)
			st, err := r.AppendUpload(ctx, "team/app", up.ID, -1, bytes.NewReader(data[4000:9000]))
			if err != nil || st.Offset != 9000 {
				t.Fatalf("append: %v offset %d", err, st.Offset)
			}
			// The upload belongs to its repository only.
			_, err = r.GetUpload(ctx, "team/other", up.ID)
			wantKind(t, err, registry.KindBlobUploadUnknown)
			want := alg.FromBytes(data)
			info, err := r.CompleteUpload(ctx, "team/app", up.ID, 9000, bytes.NewReader(data[9000:]), want)
			if err != nil || info.Size != int64(len(data)) || info.Digest != want {
				t.Fatalf("complete: %v %+v", err, info)
			}
			rc, _, err := r.OpenBlob(ctx, "team/app", want)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, data) {
				t.Fatal("blob content differs")
			}
			_, err = r.GetUpload(ctx, "team/app", up.ID)
			wantKind(t, err, registry.KindBlobUploadUnknown)
		})
	}
}

func TestDigestMismatchLeavesNothing(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	data := []byte("hello")
	wrong := digest.FromString("other")
	_, err := r.PutBlob(ctx, "team/app", wrong, bytes.NewReader(data))
	wantKind(t, err, registry.KindDigestInvalid)
	_, err = r.StatBlob(ctx, "team/app", wrong)
	wantKind(t, err, registry.KindBlobUnknown)

	up, err := r.StartUpload(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.CompleteUpload(ctx, "team/app", up.ID, -1, bytes.NewReader(data), wrong)
	wantKind(t, err, registry.KindDigestInvalid)
	_, err = r.GetUpload(ctx, "team/app", up.ID)
	wantKind(t, err, registry.KindBlobUploadUnknown)
	_, err = r.StatBlob(ctx, "team/app", digest.FromBytes(data))
	wantKind(t, err, registry.KindBlobUnknown)
}

func TestRepositoryMustExistWithoutCreateOnPush(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	_, err := r.StartUpload(ctx, "missing/repo")
	wantKind(t, err, registry.KindNameUnknown)
	if !strings.Contains(err.Error(), "The repository with name 'missing/repo' does not exist in the registry with id '123456789012'") {
		t.Fatalf("message = %q", err)
	}
	_, err = r.ListTags(ctx, "missing/repo", "", -1)
	wantKind(t, err, registry.KindNameUnknown)
	if _, err := r.CreateRepository(ctx, "missing/repo", registry.RepositorySettings{}); err != nil {
		t.Fatal(err)
	}
	_, err = r.CreateRepository(ctx, "missing/repo", registry.RepositorySettings{})
	wantKind(t, err, registry.KindRepositoryExists)
	if _, err := r.StartUpload(ctx, "missing/repo"); err != nil {
		t.Fatal(err)
	}
}

func TestManifestReferencesMustExist(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	cfg := []byte("{}")
	cd := pushBlob(t, r, "team/app", cfg)
	missing := digest.FromString("missing")
	_, err := r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(cd, missing, 2, 7), nil)
	wantKind(t, err, registry.KindManifestBlobUnknown)
	// A blob in another repository does not count.
	other := pushBlob(t, r, "team/other", []byte("layer"))
	_, err = r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(cd, other, 2, 5), nil)
	wantKind(t, err, registry.KindManifestBlobUnknown)
	// Mounting is an account setting, off by default as in ECR.
	_, err = r.MountBlob(ctx, "team/app", "team/other", other)
	wantKind(t, err, registry.KindBlobUnknown)
	if err := r.PutAccountSetting(ctx, registry.SettingBlobMounting, "ENABLED"); err != nil {
		t.Fatal(err)
	}
	// Until it is mounted.
	if _, err := r.MountBlob(ctx, "team/app", "team/other", other); err != nil {
		t.Fatal(err)
	}
	// A descriptor with the wrong size is invalid.
	_, err = r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(cd, other, 2, 6), nil)
	wantKind(t, err, registry.KindManifestInvalid)
	res, err := r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(cd, other, 2, 5), []string{"also"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"v1", "also", res.Digest.String()} {
		m, err := r.GetManifest(ctx, "team/app", ref)
		if err != nil || m.Digest != res.Digest || m.ImageSize != 7 {
			t.Fatalf("GetManifest(%s) = %+v, %v", ref, m, err)
		}
	}
	_, err = r.GetManifest(ctx, "team/app", "nope")
	wantKind(t, err, registry.KindManifestUnknown)
	// Pushing by a digest that does not match the content fails.
	_, err = r.PutManifest(ctx, "team/app", missing.String(), registry.MediaTypeOCIManifest, imageManifest(cd, other, 2, 5), nil)
	wantKind(t, err, registry.KindDigestInvalid)
}

func TestIndexChildrenAndDeleteOrder(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	child := pushImage(t, r, "team/app", "amd64", "a")
	childM, _ := r.GetManifest(ctx, "team/app", "amd64")
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIIndex, registry.MediaTypeOCIManifest, child, len(childM.Content))
	_, err := r.PutManifest(ctx, "team/app", "multi", registry.MediaTypeOCIIndex, []byte(strings.Replace(index, child.String(), digest.FromString("x").String(), 1)), nil)
	wantKind(t, err, registry.KindManifestBlobUnknown)
	res, err := r.PutManifest(ctx, "team/app", "multi", registry.MediaTypeOCIIndex, []byte(index), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.DeleteManifest(ctx, "team/app", child.String())
	wantKind(t, err, registry.KindReferencedByIndex)
	if err := r.DeleteManifest(ctx, "team/app", res.Digest.String()); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteManifest(ctx, "team/app", child.String()); err != nil {
		t.Fatal(err)
	}
	_, err = r.GetManifest(ctx, "team/app", "amd64")
	wantKind(t, err, registry.KindManifestUnknown)
}

func TestTagImmutability(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		mode      string
		filters   []registry.TagFilter
		tag       string
		immutable bool
	}{
		{registry.TagMutable, nil, "latest", false},
		{registry.TagImmutable, nil, "latest", true},
		{registry.TagImmutableWithExclusion, []registry.TagFilter{{FilterType: "WILDCARD", Filter: "dev-*"}}, "dev-1", false},
		{registry.TagImmutableWithExclusion, []registry.TagFilter{{FilterType: "WILDCARD", Filter: "dev-*"}}, "v1", true},
		{registry.TagMutableWithExclusion, []registry.TagFilter{{FilterType: "WILDCARD", Filter: "release-*"}}, "release-1", true},
		{registry.TagMutableWithExclusion, []registry.TagFilter{{FilterType: "WILDCARD", Filter: "release-*"}}, "latest", false},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.mode, tt.tag), func(t *testing.T) {
			r, _ := newCore(t, false)
			repo := fmt.Sprintf("repo%d", i)
			if _, err := r.CreateRepository(ctx, repo, registry.RepositorySettings{ImageTagMutability: tt.mode, MutabilityFilters: tt.filters}); err != nil {
				t.Fatal(err)
			}
			pushImage(t, r, repo, tt.tag, "one")
			// Re-pushing the same image under the same tag is always fine.
			pushImage(t, r, repo, tt.tag, "one")
			cfg := []byte(`{"seed":"two"}`)
			layer := []byte("layer-two")
			cd, ld := pushBlob(t, r, repo, cfg), pushBlob(t, r, repo, layer)
			_, err := r.PutManifest(ctx, repo, tt.tag, registry.MediaTypeOCIManifest, imageManifest(cd, ld, len(cfg), len(layer)), nil)
			if tt.immutable {
				wantKind(t, err, registry.KindTagImmutable)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	subject := pushImage(t, r, "team/app", "v1", "s")
	subjectM, _ := r.GetManifest(ctx, "team/app", "v1")
	cfg := pushBlob(t, r, "team/app", []byte("{}"))
	art := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","artifactType":"application/x-sbom","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[],"subject":{"mediaType":"%s","digest":"%s","size":%d},"annotations":{"k":"v"}}`,
		registry.MediaTypeOCIManifest, cfg, registry.MediaTypeOCIManifest, subject, len(subjectM.Content))
	res, err := r.PutManifest(ctx, "team/app", digest.FromString(art).String(), "", []byte(art), nil)
	if err != nil || res.Subject != subject {
		t.Fatalf("put referrer: %+v %v", res, err)
	}
	for _, filter := range []string{"", "application/x-sbom"} {
		refs, err := r.ListReferrers(ctx, "team/app", subject, filter)
		if err != nil || len(refs) != 1 || refs[0].ArtifactType != "application/x-sbom" || refs[0].Annotations["k"] != "v" {
			t.Fatalf("referrers(%q) = %+v %v", filter, refs, err)
		}
	}
	refs, err := r.ListReferrers(ctx, "team/app", subject, "application/other")
	if err != nil || len(refs) != 0 {
		t.Fatalf("filtered referrers = %+v %v", refs, err)
	}
}

func TestStaleUploadsAreReclaimed(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	up, err := r.StartUpload(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AppendUpload(ctx, "team/app", up.ID, 0, strings.NewReader("partial")); err != nil {
		t.Fatal(err)
	}
	n, err := r.ReclaimStaleUploads(ctx)
	if err != nil || n != 0 {
		t.Fatalf("fresh upload reclaimed: %d %v", n, err)
	}
	c.t = c.t.Add(2 * time.Hour)
	_, err = r.GetUpload(ctx, "team/app", up.ID)
	wantKind(t, err, registry.KindBlobUploadUnknown)
	n, err = r.ReclaimStaleUploads(ctx)
	if err != nil || n != 1 {
		t.Fatalf("reclaimed %d, %v; want 1", n, err)
	}
}

func TestDeleteRepository(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	pushImage(t, r, "team/app", "v1", "x")
	_, err := r.DeleteRepository(ctx, "team/app", false)
	wantKind(t, err, registry.KindRepositoryNotEmpty)
	if _, err := r.DeleteRepository(ctx, "team/app", true); err != nil {
		t.Fatal(err)
	}
	_, err = r.GetManifest(ctx, "team/app", "v1")
	wantKind(t, err, registry.KindNameUnknown)
	_, err = r.DeleteRepository(ctx, "team/app", true)
	wantKind(t, err, registry.KindNameUnknown)
}

func TestSchema1Refused(t *testing.T) {
	r, _ := newCore(t, true)
	body, _ := json.Marshal(map[string]any{"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []any{}})
	_, err := r.PutManifest(context.Background(), "team/app", "v1", "application/vnd.docker.distribution.manifest.v1+prettyjws", body, nil)
	wantKind(t, err, registry.KindUnsupported)
}

// TestCachedManifestsFollowWrites checks that the manifest cache never serves
// what a write on this node replaced or removed.
func TestCachedManifestsFollowWrites(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	one := pushImage(t, r, "team/app", "v1", "one")
	if m, err := r.GetManifest(ctx, "team/app", "v1"); err != nil || m.Digest != one {
		t.Fatalf("first get: %v", err)
	}
	two := pushImage(t, r, "team/app", "v1", "two")
	if m, err := r.GetManifest(ctx, "team/app", "v1"); err != nil || m.Digest != two {
		t.Fatalf("tag move not seen: %v", err)
	}
	if _, err := r.GetManifest(ctx, "team/app", two.String()); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteManifest(ctx, "team/app", two.String()); err != nil {
		t.Fatal(err)
	}
	_, err := r.GetManifest(ctx, "team/app", two.String())
	wantKind(t, err, registry.KindManifestUnknown)
	_, err = r.GetManifest(ctx, "team/app", "v1")
	wantKind(t, err, registry.KindManifestUnknown)
	if _, err := r.GetManifest(ctx, "team/app", one.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteRepository(ctx, "team/app", true); err != nil {
		t.Fatal(err)
	}
	_, err = r.GetManifest(ctx, "team/app", one.String())
	wantKind(t, err, registry.KindNameUnknown)
}

// newCoreB and pushImageB adapt the test helpers to benchmarks.
func newCoreB(b *testing.B) (*registry.Registry, *clock) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	m, err := sqlite.Open(ctx, dir+"/meta.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	bs, err := fs.New(dir + "/blobs")
	if err != nil {
		b.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	quiet := slog.New(slog.DiscardHandler)
	return registry.New(m, bs, registry.Config{CreateOnPush: true, Now: c.now}, quiet), c
}

func pushImageB(b *testing.B, r *registry.Registry) {
	b.Helper()
	ctx := context.Background()
	cfg, layer := []byte(`{"seed":"b"}`), []byte("layer-b")
	cd, ld := digest.FromBytes(cfg), digest.FromBytes(layer)
	for _, blob := range [][]byte{cfg, layer} {
		if _, err := r.PutBlob(ctx, "team/app", digest.FromBytes(blob), bytes.NewReader(blob)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(cd, ld, len(cfg), len(layer)), nil); err != nil {
		b.Fatal(err)
	}
}

// TestConcurrentAppendIsRefused checks that a second request on an upload
// that is still receiving bytes fails instead of racing the first, so stored
// bytes always match the hash the core computed.
func TestConcurrentAppendIsRefused(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	up, err := r.StartUpload(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := r.AppendUpload(ctx, "team/app", up.ID, 0, pr)
		done <- err
	}()
	if _, err := pw.Write([]byte("first-")); err != nil { // the first append is now mid-stream
		t.Fatal(err)
	}
	_, err = r.AppendUpload(ctx, "team/app", up.ID, 0, strings.NewReader("second"))
	wantKind(t, err, registry.KindBlobUploadInvalid)
	_, err = r.CompleteUpload(ctx, "team/app", up.ID, -1, nil, digest.FromString("x"))
	wantKind(t, err, registry.KindBlobUploadInvalid)
	if _, err := pw.Write([]byte("chunk")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := digest.FromString("first-chunk")
	if _, err := r.CompleteUpload(ctx, "team/app", up.ID, -1, nil, want); err != nil {
		t.Fatal(err)
	}
}

// PutManifest reports the media type as stored, on the first push and when
// the same bytes are pushed again under another tag.
func TestPutManifestReportsStoredMediaType(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	cfg, layer := []byte(`{"seed":"mt"}`), []byte("layer-mt")
	cd, ld := pushBlob(t, r, "team/app", cfg), pushBlob(t, r, "team/app", layer)
	content := imageManifest(cd, ld, len(cfg), len(layer))
	for _, tag := range []string{"v1", "v2"} {
		res, err := r.PutManifest(ctx, "team/app", tag, registry.MediaTypeOCIManifest, content, nil)
		if err != nil {
			t.Fatalf("PutManifest %s: %v", tag, err)
		}
		if res.MediaType != registry.MediaTypeOCIManifest {
			t.Fatalf("PutManifest %s: media type %q, want %q", tag, res.MediaType, registry.MediaTypeOCIManifest)
		}
	}
}
