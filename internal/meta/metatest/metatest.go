// Package metatest is the conformance suite for meta.Store implementations.
// Every implementation runs the same suite, so it asserts only behaviour the
// meta contract promises, never an implementation detail.
package metatest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/meta"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange (with t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Repositories", testRepositories},
		{"ListRepositories", testListRepositories},
		{"CreateExistingInTx", testCreateExistingInTx}, // createexisting.go
		{"Blobs", testBlobs},
		{"BlobRepositories", testBlobRepositories}, // blobrepos.go
		{"Manifests", testManifests},
		{"ManifestParents", testManifestParents},
		{"ManifestParentsInRange", testManifestParentsInRange},
		{"DeleteManifest", testDeleteManifest},
		{"ListManifests", testListManifests},
		{"Referrers", testReferrers},
		{"Tags", testTags},
		{"ListTags", testListTags},
		{"TagsInRange", testTagsInRange},
		{"Uploads", testUploads},
		{"StaleUploads", testStaleUploads},
		{"DeleteRepositoryCascades", testDeleteRepositoryCascades},
		{"InTxCommit", testInTxCommit},
		{"InTxRollback", testInTxRollback},
		{"ConcurrentSetTag", testConcurrentSetTag},
		{"ConcurrentUpdateUpload", testConcurrentUpdateUpload},
		{"ConcurrentReadWrite", testConcurrentReadWrite},
		{"Settings", testSettings},
		{"SettingsInTx", testSettingsInTx},
		{"ConcurrentCreateSetting", testConcurrentCreateSetting},
		{"GC", testGC},
		{"IAM", testIAM},             // iam.go
		{"Lifecycle", testLifecycle}, // lifecycle.go
		{"Scan", testScan},           // scan.go
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// ts returns a fixed instant. Microsecond precision, so stores that keep
// timestamps at that resolution pass too.
func ts(sec int64) time.Time {
	return time.Unix(1_700_000_000+sec, 123_456_000).UTC()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func createRepo(t *testing.T, q meta.Queries, name string) {
	t.Helper()
	must(t, q.CreateRepository(t.Context(), &meta.Repository{Name: name, CreatedAt: ts(0)}))
}

// putBlob records a blob and links it into repo.
func putBlob(t *testing.T, q meta.Queries, repo, content string) digest.Digest {
	t.Helper()
	d := digest.FromString(content)
	must(t, q.PutBlob(t.Context(), meta.Blob{Digest: d, Size: int64(len(content)), CreatedAt: ts(0)}))
	must(t, q.LinkBlob(t.Context(), repo, d))
	return d
}

// newManifest builds a manifest whose digest depends only on name, so the same
// manifest can be stored in several repositories.
func newManifest(repo, name string) *meta.Manifest {
	content := []byte(`{"schemaVersion":2,"name":"` + name + `"}`)
	return &meta.Manifest{
		Repository:   repo,
		Digest:       digest.FromBytes(content),
		MediaType:    ocispec.MediaTypeImageManifest,
		Content:      content,
		ArtifactType: ocispec.MediaTypeImageConfig,
		ImageSize:    int64(len(content)),
		PushedAt:     ts(1),
	}
}

func putManifest(t *testing.T, q meta.Queries, repo, name string) *meta.Manifest {
	t.Helper()
	m := newManifest(repo, name)
	must(t, q.PutManifest(t.Context(), m, meta.Refs{}))
	return m
}

func setTag(t *testing.T, q meta.Queries, repo, tag string, d digest.Digest) {
	t.Helper()
	if _, err := q.SetTag(t.Context(), repo, tag, d, ts(2)); err != nil {
		t.Fatal(err)
	}
}

func checkManifest(t *testing.T, got, want *meta.Manifest) {
	t.Helper()
	switch {
	case got.Repository != want.Repository:
		t.Errorf("Repository = %q, want %q", got.Repository, want.Repository)
	case got.Digest != want.Digest:
		t.Errorf("Digest = %s, want %s", got.Digest, want.Digest)
	case got.MediaType != want.MediaType:
		t.Errorf("MediaType = %q, want %q", got.MediaType, want.MediaType)
	case !bytes.Equal(got.Content, want.Content):
		t.Errorf("Content = %q, want %q", got.Content, want.Content)
	case got.ArtifactType != want.ArtifactType:
		t.Errorf("ArtifactType = %q, want %q", got.ArtifactType, want.ArtifactType)
	case got.Subject != want.Subject:
		t.Errorf("Subject = %q, want %q", got.Subject, want.Subject)
	case got.ConfigDigest != want.ConfigDigest:
		t.Errorf("ConfigDigest = %q, want %q", got.ConfigDigest, want.ConfigDigest)
	case !maps.Equal(got.Annotations, want.Annotations):
		t.Errorf("Annotations = %v, want %v", got.Annotations, want.Annotations)
	case got.ImageSize != want.ImageSize:
		t.Errorf("ImageSize = %d, want %d", got.ImageSize, want.ImageSize)
	case !got.PushedAt.Equal(want.PushedAt):
		t.Errorf("PushedAt = %v, want %v", got.PushedAt, want.PushedAt)
	case (got.LastPulledAt == nil) != (want.LastPulledAt == nil):
		t.Errorf("LastPulledAt = %v, want %v", got.LastPulledAt, want.LastPulledAt)
	case got.LastPulledAt != nil && !got.LastPulledAt.Equal(*want.LastPulledAt):
		t.Errorf("LastPulledAt = %v, want %v", *got.LastPulledAt, *want.LastPulledAt)
	}
}

func digestsOf(ms []meta.Manifest) []digest.Digest {
	out := make([]digest.Digest, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Digest)
	}
	return out
}

func sortedDigests(ds ...digest.Digest) []digest.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

func testRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	want := &meta.Repository{Name: "team/app", CreatedAt: ts(1), Settings: []byte(`{"imageTagMutability":"MUTABLE"}`)}
	must(t, s.CreateRepository(ctx, want))

	got, err := s.GetRepository(ctx, "team/app")
	must(t, err)
	if got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) || !bytes.Equal(got.Settings, want.Settings) {
		t.Fatalf("GetRepository = %+v, want %+v", got, want)
	}

	wantErr(t, s.CreateRepository(ctx, &meta.Repository{Name: "team/app", CreatedAt: ts(2)}), meta.ErrExists)
	_, err = s.GetRepository(ctx, "team/other")
	wantErr(t, err, meta.ErrNotFound)

	settings := []byte(`{"imageTagMutability":"IMMUTABLE"}`)
	must(t, s.UpdateRepositorySettings(ctx, "team/app", settings))
	got, err = s.GetRepository(ctx, "team/app")
	must(t, err)
	if !bytes.Equal(got.Settings, settings) {
		t.Fatalf("Settings = %s, want %s", got.Settings, settings)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("CreatedAt changed to %v by a settings update", got.CreatedAt)
	}
	wantErr(t, s.UpdateRepositorySettings(ctx, "team/other", settings), meta.ErrNotFound)

	// No settings at all round-trips as empty.
	must(t, s.CreateRepository(ctx, &meta.Repository{Name: "bare", CreatedAt: ts(3)}))
	got, err = s.GetRepository(ctx, "bare")
	must(t, err)
	if len(got.Settings) != 0 {
		t.Fatalf("Settings = %q, want empty", got.Settings)
	}

	wantErr(t, s.DeleteRepository(ctx, "team/other"), meta.ErrNotFound)
	must(t, s.DeleteRepository(ctx, "team/app"))
	_, err = s.GetRepository(ctx, "team/app")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.DeleteRepository(ctx, "team/app"), meta.ErrNotFound)
	if _, err := s.GetRepository(ctx, "bare"); err != nil {
		t.Fatalf("deleting one repository affected another: %v", err)
	}
}

func testListRepositories(t *testing.T, s meta.Store) {
	ctx := t.Context()
	all := []string{"a", "b/c", "b/d", "c", "c/a"}
	for _, name := range []string{"c", "b/d", "a", "c/a", "b/c"} {
		createRepo(t, s, name)
	}
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 0, all},
		{"", -1, all},
		{"", 100, all},
		{"", 5, all},
		{"", 2, []string{"a", "b/c"}},
		{"b/c", 2, []string{"b/d", "c"}},
		{"b", 1, []string{"b/c"}}, // after a name that does not exist
		{"c", 0, []string{"c/a"}},
		{"c/a", 0, nil},
		{"zzz", 10, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("after=%q,limit=%d", tc.after, tc.limit), func(t *testing.T) {
			repos, err := s.ListRepositories(ctx, tc.after, tc.limit)
			must(t, err)
			var names []string
			for _, r := range repos {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Fatalf("ListRepositories = %q, want %q", names, tc.want)
			}
		})
	}

	// Paging with the last name of each page visits every repository once.
	var paged []string
	after := ""
	for range len(all) + 1 {
		page, err := s.ListRepositories(ctx, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			paged = append(paged, r.Name)
		}
		after = page[len(page)-1].Name
	}
	if !slices.Equal(paged, all) {
		t.Fatalf("paged = %q, want %q", paged, all)
	}
}

func testBlobs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r1")
	createRepo(t, s, "r2")
	d := digest.FromString("layer")
	missing := digest.FromString("missing")

	_, err := s.GetBlob(ctx, d)
	wantErr(t, err, meta.ErrNotFound)

	b := meta.Blob{Digest: d, Size: 42, CreatedAt: ts(1)}
	must(t, s.PutBlob(ctx, b))
	must(t, s.PutBlob(ctx, b)) // idempotent
	got, err := s.GetBlob(ctx, d)
	must(t, err)
	if got.Digest != d || got.Size != 42 || !got.CreatedAt.Equal(ts(1)) {
		t.Fatalf("GetBlob = %+v, want %+v", got, b)
	}

	// Stored but not linked: invisible in the repository.
	_, err = s.GetRepositoryBlob(ctx, "r1", d)
	wantErr(t, err, meta.ErrNotFound)

	must(t, s.LinkBlob(ctx, "r1", d))
	must(t, s.LinkBlob(ctx, "r1", d)) // idempotent
	got, err = s.GetRepositoryBlob(ctx, "r1", d)
	must(t, err)
	if got.Digest != d || got.Size != 42 {
		t.Fatalf("GetRepositoryBlob = %+v, want %+v", got, b)
	}
	_, err = s.GetRepositoryBlob(ctx, "r2", d)
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetRepositoryBlob(ctx, "r1", missing)
	wantErr(t, err, meta.ErrNotFound)

	// Only an existing blob can be linked, and only into an existing repository.
	wantErr(t, s.LinkBlob(ctx, "r1", missing), meta.ErrNotFound)
	wantErr(t, s.LinkBlob(ctx, "nope", d), meta.ErrNotFound)

	must(t, s.LinkBlob(ctx, "r2", d))
	must(t, s.UnlinkBlob(ctx, "r1", d))
	_, err = s.GetRepositoryBlob(ctx, "r1", d)
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.UnlinkBlob(ctx, "r1", d), meta.ErrNotFound)
	if _, err := s.GetRepositoryBlob(ctx, "r2", d); err != nil {
		t.Fatalf("unlinking from r1 affected r2: %v", err)
	}
	// The bytes stay known for garbage collection to decide.
	if _, err := s.GetBlob(ctx, d); err != nil {
		t.Fatalf("GetBlob after unlink: %v", err)
	}
}

func testManifests(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	config := putBlob(t, s, "r", "config")
	layer := putBlob(t, s, "r", "layer")

	m := newManifest("r", "full")
	m.ConfigDigest = config
	m.Subject = digest.FromString("subject")
	m.Annotations = map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "k": "v"}
	m.ImageSize = 1234
	refs := meta.Refs{Blobs: []digest.Digest{config, layer, layer}} // a repeated layer is legal

	_, err := s.GetManifest(ctx, "r", m.Digest)
	wantErr(t, err, meta.ErrNotFound)

	must(t, s.PutManifest(ctx, m, refs))
	got, err := s.GetManifest(ctx, "r", m.Digest)
	must(t, err)
	checkManifest(t, got, m)

	// Idempotent: the same manifest again is accepted and changes nothing.
	must(t, s.PutManifest(ctx, m, refs))
	got, err = s.GetManifest(ctx, "r", m.Digest)
	must(t, err)
	checkManifest(t, got, m)
	list, err := s.ListManifests(ctx, "r", "", 0)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("ListManifests after a repeated put = %d manifests, want 1", len(list))
	}

	// Repository-scoped.
	_, err = s.GetManifest(ctx, "other", m.Digest)
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.PutManifest(ctx, newManifest("nope", "x"), meta.Refs{}), meta.ErrNotFound)

	// Minimal manifest: no subject, config, annotations or pull.
	bare := putManifest(t, s, "r", "bare")
	got, err = s.GetManifest(ctx, "r", bare.Digest)
	must(t, err)
	checkManifest(t, got, bare)

	// RecordPull.
	pulled := ts(50)
	must(t, s.RecordPull(ctx, "r", m.Digest, pulled))
	got, err = s.GetManifest(ctx, "r", m.Digest)
	must(t, err)
	if got.LastPulledAt == nil || !got.LastPulledAt.Equal(pulled) {
		t.Fatalf("LastPulledAt = %v, want %v", got.LastPulledAt, pulled)
	}
	later := ts(60)
	must(t, s.RecordPull(ctx, "r", m.Digest, later))
	got, err = s.GetManifest(ctx, "r", m.Digest)
	must(t, err)
	if got.LastPulledAt == nil || !got.LastPulledAt.Equal(later) {
		t.Fatalf("LastPulledAt = %v, want %v", got.LastPulledAt, later)
	}
	wantErr(t, s.RecordPull(ctx, "r", digest.FromString("nope"), pulled), meta.ErrNotFound)
	wantErr(t, s.RecordPull(ctx, "other", m.Digest, pulled), meta.ErrNotFound)
}

func testManifestParentsInRange(t *testing.T, s meta.Store) {
	ctx := t.Context()
	for _, repo := range []string{"r", "other"} {
		createRepo(t, s, repo)
	}
	var cs []digest.Digest
	for _, name := range []string{"c1", "c2", "c3", "c4"} {
		cs = append(cs, putManifest(t, s, "r", name).Digest)
	}
	slices.Sort(cs)
	i1 := newManifest("r", "index1")
	i1.MediaType = ocispec.MediaTypeImageIndex
	i2 := newManifest("r", "index2")
	i2.MediaType = ocispec.MediaTypeImageIndex
	must(t, s.PutManifest(ctx, i1, meta.Refs{Manifests: []digest.Digest{cs[1], cs[2], cs[3]}}))
	must(t, s.PutManifest(ctx, i2, meta.Refs{Manifests: []digest.Digest{cs[0], cs[1]}}))
	putManifest(t, s, "other", "c2")
	o1 := newManifest("other", "index1")
	must(t, s.PutManifest(ctx, o1, meta.Refs{Manifests: []digest.Digest{cs[0], cs[1]}}))

	// Both bounds are inclusive; o1 in "other" does not count; cs[3] is
	// outside the first range, cs[0] outside the second.
	got, err := s.ManifestParentsInRange(ctx, "r", cs[0], cs[2])
	must(t, err)
	wantGrouped(t, "ManifestParentsInRange", got, map[digest.Digest][]digest.Digest{
		cs[0]: {i2.Digest}, cs[1]: sortedDigests(i1.Digest, i2.Digest), cs[2]: {i1.Digest}})
	got, err = s.ManifestParentsInRange(ctx, "r", cs[1], cs[2])
	must(t, err)
	wantGrouped(t, "ManifestParentsInRange from cs[1]", got, map[digest.Digest][]digest.Digest{
		cs[1]: sortedDigests(i1.Digest, i2.Digest), cs[2]: {i1.Digest}})
	got, err = s.ManifestParentsInRange(ctx, "nope", cs[0], cs[3])
	must(t, err)
	wantGrouped(t, "ManifestParentsInRange of an unknown repository", got, nil)
}

// wantGrouped compares a by-digest grouping with want.
func wantGrouped[V comparable](t *testing.T, what string, got, want map[digest.Digest][]V) {
	t.Helper()
	if !maps.EqualFunc(got, want, slices.Equal[[]V]) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testManifestParents(t *testing.T, s meta.Store) {
	ctx := t.Context()
	for _, repo := range []string{"r", "other"} {
		createRepo(t, s, repo)
	}
	c1 := putManifest(t, s, "r", "child1")
	c2 := putManifest(t, s, "r", "child2")
	i1 := newManifest("r", "index1")
	i1.MediaType = ocispec.MediaTypeImageIndex
	i2 := newManifest("r", "index2")
	i2.MediaType = ocispec.MediaTypeImageIndex
	must(t, s.PutManifest(ctx, i1, meta.Refs{Manifests: []digest.Digest{c1.Digest, c2.Digest}}))
	must(t, s.PutManifest(ctx, i2, meta.Refs{Manifests: []digest.Digest{c1.Digest}}))
	// Idempotent put must not duplicate the reference rows.
	must(t, s.PutManifest(ctx, i1, meta.Refs{Manifests: []digest.Digest{c1.Digest, c2.Digest}}))
	// The same digests in another repository are independent.
	putManifest(t, s, "other", "child1")
	o1 := newManifest("other", "index1")
	must(t, s.PutManifest(ctx, o1, meta.Refs{Manifests: []digest.Digest{c1.Digest}}))

	check := func(repo string, d digest.Digest, want ...digest.Digest) {
		t.Helper()
		got, err := s.ManifestParents(ctx, repo, d)
		must(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("ManifestParents(%s, %s) = %v, want %v", repo, d, got, want)
		}
	}
	check("r", c1.Digest, sortedDigests(i1.Digest, i2.Digest)...)
	check("r", c2.Digest, i1.Digest)
	check("r", i1.Digest)
	check("r", digest.FromString("unknown"))
	check("other", c1.Digest, o1.Digest)

	must(t, s.DeleteManifest(ctx, "r", i1.Digest))
	check("r", c1.Digest, i2.Digest)
	check("r", c2.Digest)
	check("other", c1.Digest, o1.Digest)
}

func testDeleteManifest(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	m := putManifest(t, s, "r", "m")
	keep := putManifest(t, s, "r", "keep")
	putManifest(t, s, "other", "m")
	setTag(t, s, "r", "latest", m.Digest)
	setTag(t, s, "r", "v1", m.Digest)
	setTag(t, s, "r", "v2", keep.Digest)
	setTag(t, s, "other", "latest", m.Digest)

	wantErr(t, s.DeleteManifest(ctx, "r", digest.FromString("nope")), meta.ErrNotFound)
	must(t, s.DeleteManifest(ctx, "r", m.Digest))

	_, err := s.GetManifest(ctx, "r", m.Digest)
	wantErr(t, err, meta.ErrNotFound)
	for _, tag := range []string{"latest", "v1"} {
		_, err := s.GetTag(ctx, "r", tag)
		wantErr(t, err, meta.ErrNotFound)
	}
	tags, err := s.TagsOf(ctx, "r", m.Digest)
	must(t, err)
	if len(tags) != 0 {
		t.Fatalf("TagsOf deleted manifest = %q, want none", tags)
	}
	tags, err = s.ListTags(ctx, "r", "", 0)
	must(t, err)
	if !slices.Equal(tags, []string{"v2"}) {
		t.Fatalf("ListTags = %q, want [v2]", tags)
	}
	wantErr(t, s.DeleteManifest(ctx, "r", m.Digest), meta.ErrNotFound)

	// Other repositories keep their copy and tags.
	if _, err := s.GetManifest(ctx, "other", m.Digest); err != nil {
		t.Fatalf("GetManifest in other repository: %v", err)
	}
	if ti, err := s.GetTag(ctx, "other", "latest"); err != nil || ti.Digest != m.Digest {
		t.Fatalf("GetTag in other repository = %v, %v", ti, err)
	}

	// The manifest can be pushed again and starts untagged.
	must(t, s.PutManifest(ctx, m, meta.Refs{}))
	tags, err = s.TagsOf(ctx, "r", m.Digest)
	must(t, err)
	if len(tags) != 0 {
		t.Fatalf("TagsOf re-pushed manifest = %q, want none", tags)
	}
}

func testTagsInRange(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	var ds []digest.Digest
	for _, name := range []string{"a", "b", "c", "d"} {
		ds = append(ds, putManifest(t, s, "r", name).Digest)
	}
	slices.Sort(ds)
	setTag(t, s, "r", "w", ds[0])
	setTag(t, s, "r", "z", ds[1])
	setTag(t, s, "r", "y", ds[1])
	setTag(t, s, "r", "x", ds[2])
	setTag(t, s, "r", "outside", ds[3])
	other := putManifest(t, s, "other", "b")
	setTag(t, s, "other", "elsewhere", other.Digest)

	// Both bounds are inclusive: ds[3] is outside the first range, ds[0]
	// outside the second.
	got, err := s.TagsInRange(ctx, "r", ds[0], ds[2])
	must(t, err)
	wantGrouped(t, "TagsInRange", got, map[digest.Digest][]string{ds[0]: {"w"}, ds[1]: {"y", "z"}, ds[2]: {"x"}})
	got, err = s.TagsInRange(ctx, "r", ds[1], ds[2])
	must(t, err)
	wantGrouped(t, "TagsInRange from ds[1]", got, map[digest.Digest][]string{ds[1]: {"y", "z"}, ds[2]: {"x"}})
	got, err = s.TagsInRange(ctx, "nope", ds[0], ds[3])
	must(t, err)
	wantGrouped(t, "TagsInRange of an unknown repository", got, nil)
}

func testListManifests(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	byDigest := map[digest.Digest]*meta.Manifest{}
	var all []digest.Digest
	for i := range 5 {
		m := putManifest(t, s, "r", fmt.Sprint("m", i))
		byDigest[m.Digest] = m
		all = append(all, m.Digest)
	}
	putManifest(t, s, "other", "elsewhere")
	slices.Sort(all)

	tests := []struct {
		name  string
		after digest.Digest
		limit int
		want  []digest.Digest
	}{
		{"all", "", 0, all},
		{"negative limit", "", -1, all},
		{"limit above count", "", 10, all},
		{"first page", "", 2, all[:2]},
		{"middle page", all[1], 2, all[2:4]},
		{"last page", all[3], 2, all[4:]},
		{"after last", all[4], 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := s.ListManifests(ctx, "r", tc.after, tc.limit)
			must(t, err)
			if got := digestsOf(ms); !slices.Equal(got, tc.want) {
				t.Fatalf("ListManifests = %v, want %v", got, tc.want)
			}
			for i := range ms {
				checkManifest(t, &ms[i], byDigest[ms[i].Digest])
			}
		})
	}
	ms, err := s.ListManifests(ctx, "empty", "", 0)
	must(t, err)
	if len(ms) != 0 {
		t.Fatalf("ListManifests of unknown repository = %v, want none", digestsOf(ms))
	}
}

func testReferrers(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	subject := putManifest(t, s, "r", "subject")
	const sig, sbom = "application/vnd.example.signature", "application/vnd.example.sbom"

	referrer := func(repo, name, artifactType string, subj digest.Digest) *meta.Manifest {
		m := newManifest(repo, name)
		m.ArtifactType = artifactType
		m.Subject = subj
		m.Annotations = map[string]string{"name": name}
		must(t, s.PutManifest(ctx, m, meta.Refs{}))
		return m
	}
	a1 := referrer("r", "sig1", sig, subject.Digest)
	a2 := referrer("r", "sbom", sbom, subject.Digest)
	a3 := referrer("r", "sig2", sig, subject.Digest)
	putManifest(t, s, "r", "unrelated")
	referrer("other", "sig1", sig, subject.Digest) // same subject digest, other repository
	// A referrer may be pushed before its subject.
	dangling := digest.FromString("not pushed yet")
	a4 := referrer("r", "early", sig, dangling)

	byDigest := map[digest.Digest]*meta.Manifest{a1.Digest: a1, a2.Digest: a2, a3.Digest: a3, a4.Digest: a4}
	tests := []struct {
		name         string
		subject      digest.Digest
		artifactType string
		want         []digest.Digest
	}{
		{"all", subject.Digest, "", sortedDigests(a1.Digest, a2.Digest, a3.Digest)},
		{"filtered", subject.Digest, sig, sortedDigests(a1.Digest, a3.Digest)},
		{"filtered single", subject.Digest, sbom, []digest.Digest{a2.Digest}},
		{"filter matches nothing", subject.Digest, "application/vnd.none", nil},
		{"no referrers", a1.Digest, "", nil},
		{"subject not stored", dangling, "", []digest.Digest{a4.Digest}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := s.ListReferrers(ctx, "r", tc.subject, tc.artifactType)
			must(t, err)
			if got := digestsOf(ms); !slices.Equal(got, tc.want) {
				t.Fatalf("ListReferrers = %v, want %v", got, tc.want)
			}
			for i := range ms {
				checkManifest(t, &ms[i], byDigest[ms[i].Digest])
			}
		})
	}
}

func testTags(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	m1 := putManifest(t, s, "r", "m1")
	m2 := putManifest(t, s, "r", "m2")
	putManifest(t, s, "other", "m1")

	_, err := s.GetTag(ctx, "r", "latest")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.DeleteTag(ctx, "r", "latest"), meta.ErrNotFound)

	steps := []struct {
		to       digest.Digest
		at       time.Time
		previous digest.Digest
	}{
		{m1.Digest, ts(10), ""},        // create
		{m2.Digest, ts(11), m1.Digest}, // move
		{m2.Digest, ts(12), m2.Digest}, // same target again
		{m1.Digest, ts(13), m2.Digest}, // move back
	}
	for i, st := range steps {
		prev, err := s.SetTag(ctx, "r", "latest", st.to, st.at)
		must(t, err)
		if prev != st.previous {
			t.Fatalf("step %d: SetTag previous = %q, want %q", i, prev, st.previous)
		}
		ti, err := s.GetTag(ctx, "r", "latest")
		must(t, err)
		if ti.Name != "latest" || ti.Digest != st.to || !ti.UpdatedAt.Equal(st.at) {
			t.Fatalf("step %d: GetTag = %+v, want latest -> %s at %v", i, ti, st.to, st.at)
		}
	}

	setTag(t, s, "r", "v1", m1.Digest)
	setTag(t, s, "r", "a", m1.Digest)
	tagsOf := func(d digest.Digest, want ...string) {
		t.Helper()
		got, err := s.TagsOf(ctx, "r", d)
		must(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("TagsOf(%s) = %q, want %q", d, got, want)
		}
	}
	tagsOf(m1.Digest, "a", "latest", "v1")
	tagsOf(m2.Digest)

	// Tags are scoped to their repository.
	_, err = s.GetTag(ctx, "other", "latest")
	wantErr(t, err, meta.ErrNotFound)
	setTag(t, s, "other", "latest", m1.Digest)

	// A tag can only point at a stored manifest of its repository.
	_, err = s.SetTag(ctx, "r", "broken", digest.FromString("nope"), ts(20))
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.SetTag(ctx, "other", "broken", m2.Digest, ts(20))
	wantErr(t, err, meta.ErrNotFound)

	must(t, s.DeleteTag(ctx, "r", "latest"))
	_, err = s.GetTag(ctx, "r", "latest")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.DeleteTag(ctx, "r", "latest"), meta.ErrNotFound)
	tagsOf(m1.Digest, "a", "v1")
	if _, err := s.GetManifest(ctx, "r", m1.Digest); err != nil {
		t.Fatalf("deleting a tag deleted its manifest: %v", err)
	}
	if _, err := s.GetTag(ctx, "other", "latest"); err != nil {
		t.Fatalf("deleting a tag affected another repository: %v", err)
	}
}

func testListTags(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	m := putManifest(t, s, "r", "m")
	putManifest(t, s, "other", "m")
	// Lexical means byte order: digits, then upper case, then lower case.
	all := []string{"1.0", "1.1", "B", "a", "latest", "v1"}
	for _, tag := range []string{"latest", "1.1", "v1", "a", "B", "1.0"} {
		setTag(t, s, "r", tag, m.Digest)
	}
	setTag(t, s, "other", "zz", m.Digest)

	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 0, all},
		{"", -1, all},
		{"", 6, all},
		{"", 100, all},
		{"", 2, []string{"1.0", "1.1"}},
		{"1.1", 3, []string{"B", "a", "latest"}},
		{"b", 0, []string{"latest", "v1"}}, // after a tag that does not exist
		{"latest", 5, []string{"v1"}},
		{"v1", 0, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("after=%q,limit=%d", tc.after, tc.limit), func(t *testing.T) {
			got, err := s.ListTags(ctx, "r", tc.after, tc.limit)
			must(t, err)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ListTags = %q, want %q", got, tc.want)
			}
		})
	}
	got, err := s.ListTags(ctx, "empty", "", 0)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ListTags of unknown repository = %q, want none", got)
	}
}

func newUpload(id, repo string, at time.Time) *meta.Upload {
	return &meta.Upload{
		ID:           id,
		Repository:   repo,
		HashState:    []byte("hash-state-0"),
		Algorithm:    digest.SHA256,
		BackendState: []byte(`{"uploadId":"x"}`),
		StartedAt:    at,
		UpdatedAt:    at,
	}
}

func checkUpload(t *testing.T, got, want *meta.Upload) {
	t.Helper()
	if got.ID != want.ID || got.Repository != want.Repository || got.Offset != want.Offset ||
		!bytes.Equal(got.HashState, want.HashState) || got.Algorithm != want.Algorithm ||
		!bytes.Equal(got.BackendState, want.BackendState) ||
		!got.StartedAt.Equal(want.StartedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("upload = %+v, want %+v", got, want)
	}
}

func testUploads(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	u := newUpload("u1", "r", ts(1))

	_, err := s.GetUpload(ctx, "u1")
	wantErr(t, err, meta.ErrNotFound)
	must(t, s.CreateUpload(ctx, u))
	got, err := s.GetUpload(ctx, "u1")
	must(t, err)
	checkUpload(t, got, u)

	wantErr(t, s.CreateUpload(ctx, newUpload("u1", "r", ts(2))), meta.ErrExists)
	wantErr(t, s.CreateUpload(ctx, newUpload("u2", "nope", ts(2))), meta.ErrNotFound)

	next := *u
	next.Offset = 10
	next.HashState = []byte("hash-state-10")
	next.BackendState = []byte(`{"uploadId":"x","parts":1}`)
	next.UpdatedAt = ts(2)
	must(t, s.UpdateUpload(ctx, &next, 0))
	got, err = s.GetUpload(ctx, "u1")
	must(t, err)
	checkUpload(t, got, &next)

	// A stale expected offset loses and changes nothing.
	stale := next
	stale.Offset = 20
	stale.HashState = []byte("lost")
	stale.UpdatedAt = ts(3)
	wantErr(t, s.UpdateUpload(ctx, &stale, 0), meta.ErrConflict)
	got, err = s.GetUpload(ctx, "u1")
	must(t, err)
	checkUpload(t, got, &next)

	ghost := newUpload("ghost", "r", ts(1))
	wantErr(t, s.UpdateUpload(ctx, ghost, 0), meta.ErrNotFound)

	must(t, s.DeleteUpload(ctx, "u1"))
	_, err = s.GetUpload(ctx, "u1")
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.DeleteUpload(ctx, "u1"), meta.ErrNotFound)
}

func testStaleUploads(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	createRepo(t, s, "other")
	for i, sec := range []int64{10, 20, 30, 40} {
		repo := "r"
		if i%2 == 1 {
			repo = "other" // staleness is registry-wide
		}
		must(t, s.CreateUpload(ctx, newUpload(fmt.Sprint("u", sec), repo, ts(sec))))
	}
	ids := func(us []meta.Upload) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		before time.Time
		limit  int
		want   []string
	}{
		{ts(10), 0, nil}, // strictly before
		{ts(10).Add(time.Microsecond), 0, []string{"u10"}},
		{ts(30), 0, []string{"u10", "u20"}},
		{ts(30), -1, []string{"u10", "u20"}},
		{ts(100), 0, []string{"u10", "u20", "u30", "u40"}},
		{ts(100), 10, []string{"u10", "u20", "u30", "u40"}},
	}
	for _, tc := range tests {
		got, err := s.ListStaleUploads(ctx, tc.before, tc.limit)
		must(t, err)
		if !slices.Equal(ids(got), tc.want) {
			t.Fatalf("ListStaleUploads(%v, %d) = %q, want %q", tc.before, tc.limit, ids(got), tc.want)
		}
	}

	got, err := s.ListStaleUploads(ctx, ts(100), 3)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("ListStaleUploads with limit 3 returned %d uploads", len(got))
	}
	for _, u := range got {
		if !u.UpdatedAt.Before(ts(100)) {
			t.Fatalf("upload %s updated at %v is not stale", u.ID, u.UpdatedAt)
		}
	}

	// Progress makes an upload fresh again.
	u, err := s.GetUpload(ctx, "u10")
	must(t, err)
	u.Offset = 5
	u.UpdatedAt = ts(50)
	must(t, s.UpdateUpload(ctx, u, 0))
	got, err = s.ListStaleUploads(ctx, ts(30), 0)
	must(t, err)
	if !slices.Equal(ids(got), []string{"u20"}) {
		t.Fatalf("ListStaleUploads after progress = %q, want [u20]", ids(got))
	}
}

// populate fills repo with one of everything and returns the digests used.
func populate(t *testing.T, s meta.Store, repo string) (layer digest.Digest, child, index, referrer *meta.Manifest) {
	t.Helper()
	ctx := t.Context()
	createRepo(t, s, repo)
	layer = putBlob(t, s, repo, "layer")
	child = newManifest(repo, "child")
	must(t, s.PutManifest(ctx, child, meta.Refs{Blobs: []digest.Digest{layer}}))
	index = newManifest(repo, "index")
	index.MediaType = ocispec.MediaTypeImageIndex
	must(t, s.PutManifest(ctx, index, meta.Refs{Manifests: []digest.Digest{child.Digest}}))
	referrer = newManifest(repo, "referrer")
	referrer.Subject = child.Digest
	must(t, s.PutManifest(ctx, referrer, meta.Refs{}))
	setTag(t, s, repo, "latest", index.Digest)
	setTag(t, s, repo, "child", child.Digest)
	must(t, s.CreateUpload(ctx, newUpload("upload-"+repo, repo, ts(1))))
	return layer, child, index, referrer
}

func testDeleteRepositoryCascades(t *testing.T, s meta.Store) {
	ctx := t.Context()
	layer, child, index, referrer := populate(t, s, "doomed")
	populate(t, s, "survivor")

	must(t, s.DeleteRepository(ctx, "doomed"))

	notFound := []struct {
		what string
		err  error
	}{
		{"repository", func() error { _, err := s.GetRepository(ctx, "doomed"); return err }()},
		{"blob link", func() error { _, err := s.GetRepositoryBlob(ctx, "doomed", layer); return err }()},
		{"child", func() error { _, err := s.GetManifest(ctx, "doomed", child.Digest); return err }()},
		{"index", func() error { _, err := s.GetManifest(ctx, "doomed", index.Digest); return err }()},
		{"referrer", func() error { _, err := s.GetManifest(ctx, "doomed", referrer.Digest); return err }()},
		{"tag", func() error { _, err := s.GetTag(ctx, "doomed", "latest"); return err }()},
		{"upload", func() error { _, err := s.GetUpload(ctx, "upload-doomed"); return err }()},
	}
	for _, nf := range notFound {
		if !errors.Is(nf.err, meta.ErrNotFound) {
			t.Errorf("%s after DeleteRepository: err = %v, want ErrNotFound", nf.what, nf.err)
		}
	}

	// Recreating the name starts from nothing.
	createRepo(t, s, "doomed")
	tags, err := s.ListTags(ctx, "doomed", "", 0)
	must(t, err)
	ms, err := s.ListManifests(ctx, "doomed", "", 0)
	must(t, err)
	parents, err := s.ManifestParents(ctx, "doomed", child.Digest)
	must(t, err)
	refs, err := s.ListReferrers(ctx, "doomed", child.Digest, "")
	must(t, err)
	if len(tags) != 0 || len(ms) != 0 || len(parents) != 0 || len(refs) != 0 {
		t.Fatalf("recreated repository is not empty: tags %q, manifests %v, parents %v, referrers %v",
			tags, digestsOf(ms), parents, digestsOf(refs))
	}
	stale, err := s.ListStaleUploads(ctx, ts(100), 0)
	must(t, err)
	if len(stale) != 1 || stale[0].ID != "upload-survivor" {
		t.Fatalf("uploads after DeleteRepository = %+v, want only upload-survivor", stale)
	}

	// Blob bytes are left for garbage collection.
	if _, err := s.GetBlob(ctx, layer); err != nil {
		t.Fatalf("GetBlob after DeleteRepository: %v", err)
	}

	// The other repository is untouched.
	if _, err := s.GetRepositoryBlob(ctx, "survivor", layer); err != nil {
		t.Errorf("survivor blob link: %v", err)
	}
	for _, d := range []digest.Digest{child.Digest, index.Digest, referrer.Digest} {
		if _, err := s.GetManifest(ctx, "survivor", d); err != nil {
			t.Errorf("survivor manifest %s: %v", d, err)
		}
	}
	if ti, err := s.GetTag(ctx, "survivor", "latest"); err != nil || ti.Digest != index.Digest {
		t.Errorf("survivor tag = %v, %v", ti, err)
	}
	parents, err = s.ManifestParents(ctx, "survivor", child.Digest)
	must(t, err)
	if !slices.Equal(parents, []digest.Digest{index.Digest}) {
		t.Errorf("survivor parents = %v, want [%s]", parents, index.Digest)
	}
	refs, err = s.ListReferrers(ctx, "survivor", child.Digest, "")
	must(t, err)
	if !slices.Equal(digestsOf(refs), []digest.Digest{referrer.Digest}) {
		t.Errorf("survivor referrers = %v, want [%s]", digestsOf(refs), referrer.Digest)
	}
	if _, err := s.GetUpload(ctx, "upload-survivor"); err != nil {
		t.Errorf("survivor upload: %v", err)
	}
}

func testInTxCommit(t *testing.T, s meta.Store) {
	ctx := t.Context()
	var m *meta.Manifest
	err := s.InTx(ctx, func(q meta.Queries) error {
		createRepo(t, q, "r")
		// Reads inside the transaction see its own writes.
		if _, err := q.GetRepository(ctx, "r"); err != nil {
			return fmt.Errorf("read own repository: %w", err)
		}
		layer := putBlob(t, q, "r", "layer")
		if _, err := q.GetRepositoryBlob(ctx, "r", layer); err != nil {
			return fmt.Errorf("read own blob link: %w", err)
		}
		m = newManifest("r", "m")
		if err := q.PutManifest(ctx, m, meta.Refs{Blobs: []digest.Digest{layer}}); err != nil {
			return err
		}
		if _, err := q.SetTag(ctx, "r", "latest", m.Digest, ts(2)); err != nil {
			return err
		}
		ti, err := q.GetTag(ctx, "r", "latest")
		if err != nil {
			return fmt.Errorf("read own tag: %w", err)
		}
		if ti.Digest != m.Digest {
			return fmt.Errorf("own tag points at %s, want %s", ti.Digest, m.Digest)
		}
		return nil
	})
	must(t, err)

	ti, err := s.GetTag(ctx, "r", "latest")
	must(t, err)
	if ti.Digest != m.Digest {
		t.Fatalf("committed tag points at %s, want %s", ti.Digest, m.Digest)
	}
	got, err := s.GetManifest(ctx, "r", m.Digest)
	must(t, err)
	checkManifest(t, got, m)
}

func testInTxRollback(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "keep")
	m1 := putManifest(t, s, "keep", "m1")
	m2 := putManifest(t, s, "keep", "m2")
	setTag(t, s, "keep", "latest", m1.Digest)
	setTag(t, s, "keep", "v1", m1.Digest)
	must(t, s.CreateUpload(ctx, newUpload("u", "keep", ts(1))))

	check := func() {
		t.Helper()
		if _, err := s.GetRepository(ctx, "rolled-back"); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("repository created in a rolled back transaction: err = %v", err)
		}
		if ti, err := s.GetTag(ctx, "keep", "latest"); err != nil || ti.Digest != m1.Digest {
			t.Fatalf("tag moved in a rolled back transaction: %v, %v", ti, err)
		}
		if _, err := s.GetTag(ctx, "keep", "v1"); err != nil {
			t.Fatalf("tag deleted in a rolled back transaction: %v", err)
		}
		if _, err := s.GetManifest(ctx, "keep", m2.Digest); err != nil {
			t.Fatalf("manifest deleted in a rolled back transaction: %v", err)
		}
		if u, err := s.GetUpload(ctx, "u"); err != nil || u.Offset != 0 {
			t.Fatalf("upload changed in a rolled back transaction: %+v, %v", u, err)
		}
		r, err := s.GetRepository(ctx, "keep")
		must(t, err)
		if len(r.Settings) != 0 {
			t.Fatalf("settings changed in a rolled back transaction: %s", r.Settings)
		}
	}

	// writes performs a write of every kind, then fails with failure(q).
	writes := func(failure func(q meta.Queries) error) func(q meta.Queries) error {
		return func(q meta.Queries) error {
			steps := []func() error{
				func() error { return q.CreateRepository(ctx, &meta.Repository{Name: "rolled-back", CreatedAt: ts(1)}) },
				func() error { _, err := q.SetTag(ctx, "keep", "latest", m2.Digest, ts(5)); return err },
				func() error { return q.DeleteTag(ctx, "keep", "v1") },
				func() error { return q.DeleteManifest(ctx, "keep", m2.Digest) },
				func() error { return q.UpdateRepositorySettings(ctx, "keep", []byte(`{"x":1}`)) },
				func() error {
					u := newUpload("u", "keep", ts(1))
					u.Offset = 99
					return q.UpdateUpload(ctx, u, 0)
				},
			}
			for i, step := range steps {
				if err := step(); err != nil {
					return fmt.Errorf("step %d: %w", i, err)
				}
			}
			return failure(q)
		}
	}

	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		failure func(q meta.Queries) error
		want    error
	}{
		{"fn error", func(meta.Queries) error { return errBoom }, errBoom},
		{"store error", func(q meta.Queries) error {
			return q.CreateRepository(ctx, &meta.Repository{Name: "keep", CreatedAt: ts(1)})
		}, meta.ErrExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.InTx(ctx, writes(tc.failure))
			wantErr(t, err, tc.want)
			check()
		})
	}

	// The store is usable after a rollback.
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		_, err := q.SetTag(ctx, "keep", "latest", m2.Digest, ts(6))
		return err
	}))
	if ti, err := s.GetTag(ctx, "keep", "latest"); err != nil || ti.Digest != m2.Digest {
		t.Fatalf("tag after a committed transaction = %v, %v", ti, err)
	}
}

// concurrency is small enough for a two-core machine under the race detector
// and large enough to interleave.
const concurrency = 16

func testConcurrentSetTag(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	targets := make([]digest.Digest, concurrency)
	for i := range targets {
		targets[i] = putManifest(t, s, "r", fmt.Sprint("m", i)).Digest
	}

	previous := make([]digest.Digest, concurrency)
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			previous[i], errs[i] = s.SetTag(ctx, "r", "latest", targets[i], ts(int64(i)))
		})
	}
	wg.Wait()
	must(t, errors.Join(errs...))

	// The moves happened in some order: exactly one found no tag, each other
	// saw a distinct earlier target, and the final target is the one nobody
	// saw replaced.
	final, err := s.GetTag(ctx, "r", "latest")
	must(t, err)
	seen := map[digest.Digest]int{}
	for _, p := range previous {
		seen[p]++
	}
	if seen[""] != 1 {
		t.Fatalf("%d SetTag calls saw no previous tag, want exactly 1", seen[""])
	}
	for _, d := range targets {
		want := 1
		if d == final.Digest {
			want = 0
		}
		if seen[d] != want {
			t.Fatalf("target %s reported as previous %d times, want %d (final %s)", d, seen[d], want, final.Digest)
		}
	}
	holders := 0
	for _, d := range targets {
		tags, err := s.TagsOf(ctx, "r", d)
		must(t, err)
		holders += len(tags)
		if len(tags) == 1 && d != final.Digest {
			t.Fatalf("TagsOf(%s) = %q, but latest points at %s", d, tags, final.Digest)
		}
	}
	if holders != 1 {
		t.Fatalf("%d manifests hold the tag, want 1", holders)
	}
}

func testConcurrentUpdateUpload(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	must(t, s.CreateUpload(ctx, newUpload("u", "r", ts(1))))

	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			u := newUpload("u", "r", ts(1))
			u.Offset = int64(100 + i)
			u.UpdatedAt = ts(2)
			errs[i] = s.UpdateUpload(ctx, u, 0)
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("updates %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, meta.ErrConflict):
			t.Fatalf("update %d: err = %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no update won")
	}
	u, err := s.GetUpload(ctx, "u")
	must(t, err)
	if u.Offset != int64(100+winner) {
		t.Fatalf("stored offset = %d, want the winner's %d", u.Offset, 100+winner)
	}
}

// testConcurrentReadWrite checks that reads keep succeeding, and see only
// committed states, while writers move a tag.
func testConcurrentReadWrite(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "r")
	targets := map[digest.Digest]bool{}
	var list []digest.Digest
	for i := range 4 {
		d := putManifest(t, s, "r", fmt.Sprint("m", i)).Digest
		targets[d] = true
		list = append(list, d)
	}
	setTag(t, s, "r", "latest", list[0])

	const rounds = 20
	errs := make(chan error, 2*concurrency*rounds)
	var wg sync.WaitGroup
	for i := range concurrency / 2 {
		wg.Go(func() {
			for j := range rounds {
				if _, err := s.SetTag(ctx, "r", "latest", list[(i+j)%len(list)], ts(int64(j))); err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				ti, err := s.GetTag(ctx, "r", "latest")
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", i, err)
					continue
				}
				if !targets[ti.Digest] {
					errs <- fmt.Errorf("reader %d: tag points at unknown %s", i, ti.Digest)
					continue
				}
				if _, err := s.GetManifest(ctx, "r", ti.Digest); err != nil {
					errs <- fmt.Errorf("reader %d: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testSettings(t *testing.T, s meta.Store) {
	ctx := t.Context()
	steps := []struct {
		name    string
		op      string // get, put, create
		key     string
		value   []byte
		want    []byte
		wantErr error
	}{
		{"missing", "get", "account-id", nil, nil, meta.ErrNotFound},
		{"create", "create", "account-id", []byte("123456789012"), nil, nil},
		{"read created", "get", "account-id", nil, []byte("123456789012"), nil},
		{"create again", "create", "account-id", []byte("999999999999"), nil, meta.ErrExists},
		{"unchanged by failed create", "get", "account-id", nil, []byte("123456789012"), nil},
		{"put replaces", "put", "account-id", []byte("210987654321"), nil, nil},
		{"read replaced", "get", "account-id", nil, []byte("210987654321"), nil},
		{"put creates", "put", "other", []byte{0, 1, 2, 0xff}, nil, nil},
		{"binary value", "get", "other", nil, []byte{0, 1, 2, 0xff}, nil},
		{"empty value", "put", "empty", []byte{}, nil, nil},
		{"read empty", "get", "empty", nil, []byte{}, nil},
		{"keys are exact", "get", "Account-Id", nil, nil, meta.ErrNotFound},
	}
	for _, st := range steps {
		var got []byte
		var err error
		switch st.op {
		case "get":
			got, err = s.GetSetting(ctx, st.key)
		case "put":
			err = s.PutSetting(ctx, st.key, st.value)
		case "create":
			err = s.CreateSetting(ctx, st.key, st.value)
		}
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.op == "get" && (got == nil || !bytes.Equal(got, st.want)) {
			t.Fatalf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
}

func testSettingsInTx(t *testing.T, s meta.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(q meta.Queries) error {
		must(t, q.CreateSetting(ctx, "a", []byte("1")))
		must(t, q.PutSetting(ctx, "b", []byte("2")))
		v, err := q.GetSetting(ctx, "a")
		must(t, err)
		if string(v) != "1" {
			t.Errorf("in tx: a = %q", v)
		}
		return boom
	})
	wantErr(t, err, boom)
	for _, k := range []string{"a", "b"} {
		_, err := s.GetSetting(ctx, k)
		wantErr(t, err, meta.ErrNotFound)
	}
	must(t, s.InTx(ctx, func(q meta.Queries) error { return q.CreateSetting(ctx, "a", []byte("1")) }))
	v, err := s.GetSetting(ctx, "a")
	must(t, err)
	if string(v) != "1" {
		t.Fatalf("after commit: a = %q", v)
	}
}

// testConcurrentCreateSetting: of many nodes creating the same setting at
// once exactly one wins; the others see ErrExists and read the winner's.
func testConcurrentCreateSetting(t *testing.T, s meta.Store) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateSetting(ctx, "root", []byte(fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	winners := 0
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			winner = fmt.Sprint(i)
		case !errors.Is(err, meta.ErrExists):
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d creators won, want 1", winners)
	}
	v, err := s.GetSetting(ctx, "root")
	must(t, err)
	if string(v) != winner {
		t.Fatalf("stored %q, winner wrote %q", v, winner)
	}
}
