package metatest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// testGC covers garbage listing and guarded deletion, tombstones, usage and
// creation templates.
func testGC(t *testing.T, s meta.Store) {
	t.Run("GarbageBlobs", func(t *testing.T) { testGarbageBlobs(t, s) })
	t.Run("BlobDeletions", func(t *testing.T) { testBlobDeletions(t, s) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, s) })
	t.Run("CreationTemplates", func(t *testing.T) { testCreationTemplates(t, s) })
}

func blobDigests(bs []meta.Blob) []digest.Digest {
	out := make([]digest.Digest, len(bs))
	for i, b := range bs {
		out[i] = b.Digest
	}
	return out
}

func testGarbageBlobs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	createRepo(t, s, "gc/a")
	orphan := digest.FromString("orphan")
	must(t, s.PutBlob(ctx, meta.Blob{Digest: orphan, Size: 6, CreatedAt: ts(0)}))
	fresh := digest.FromString("fresh")
	must(t, s.PutBlob(ctx, meta.Blob{Digest: fresh, Size: 5, CreatedAt: ts(100)}))
	linked := putBlob(t, s, "gc/a", "linked")
	refd := putBlob(t, s, "gc/a", "referenced")
	m := newManifest("gc/a", "m")
	must(t, s.PutManifest(ctx, m, meta.Refs{Blobs: []digest.Digest{refd}}))
	// A blob only a manifest references (its link was removed) is not garbage.
	must(t, s.UnlinkBlob(ctx, "gc/a", refd))

	cutoff := ts(50)
	got, err := s.ListGarbageBlobs(ctx, cutoff, "", 100)
	must(t, err)
	if want := []digest.Digest{orphan}; !slices.Equal(blobDigests(got), want) {
		t.Fatalf("garbage blobs = %v, want %v", blobDigests(got), want)
	}
	got, err = s.ListGarbageBlobs(ctx, cutoff, orphan, 100)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("garbage blobs after %s = %v, want none", orphan, blobDigests(got))
	}
	for _, d := range []digest.Digest{linked, refd, fresh} {
		ok, err := s.DeleteGarbageBlob(ctx, d, cutoff)
		must(t, err)
		if ok {
			t.Errorf("DeleteGarbageBlob(%s) deleted a blob that is not garbage", d)
		}
	}
	// Inside a transaction as the collector uses it.
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		ok, err := q.DeleteGarbageBlob(ctx, orphan, cutoff)
		if err == nil && !ok {
			t.Error("DeleteGarbageBlob(orphan) = false, want true")
		}
		return err
	}))
	_, err = s.GetBlob(ctx, orphan)
	wantErr(t, err, meta.ErrNotFound)
	ok, err := s.DeleteGarbageBlob(ctx, orphan, cutoff)
	must(t, err)
	if ok {
		t.Error("second DeleteGarbageBlob(orphan) = true")
	}

	// Links: the link of linked is unreferenced; the manifest's blob is
	// relinked and referenced.
	must(t, s.LinkBlob(ctx, "gc/a", refd))
	future := time.Now().Add(time.Hour)
	links, err := s.ListGarbageLinks(ctx, future, "", "", 100)
	must(t, err)
	if len(links) != 1 || links[0].Repository != "gc/a" || links[0].Digest != linked {
		t.Fatalf("garbage links = %+v, want only %s in gc/a", links, linked)
	}
	links, err = s.ListGarbageLinks(ctx, future, "gc/a", linked, 100)
	must(t, err)
	if len(links) != 0 {
		t.Fatalf("garbage links after the last = %+v", links)
	}
	links, err = s.ListGarbageLinks(ctx, ts(0), "", "", 100)
	must(t, err)
	if len(links) != 0 {
		t.Fatalf("garbage links before any was made = %+v", links)
	}
	ok, err = s.DeleteGarbageLink(ctx, "gc/a", refd, future)
	must(t, err)
	if ok {
		t.Error("DeleteGarbageLink deleted a referenced link")
	}
	ok, err = s.DeleteGarbageLink(ctx, "gc/a", linked, future)
	must(t, err)
	if !ok {
		t.Error("DeleteGarbageLink(linked) = false, want true")
	}
	if _, err := s.GetRepositoryBlob(ctx, "gc/a", linked); err == nil {
		t.Error("link still there after DeleteGarbageLink")
	}
	// Now unlinked and old: the blob itself is garbage.
	got, err = s.ListGarbageBlobs(ctx, cutoff, "", 100)
	must(t, err)
	if want := []digest.Digest{linked}; !slices.Equal(blobDigests(got), want) {
		t.Fatalf("garbage blobs = %v, want %v", blobDigests(got), want)
	}
	// Deleting the repository leaves the referenced blob unreferenced.
	must(t, s.DeleteRepository(ctx, "gc/a"))
	got, err = s.ListGarbageBlobs(ctx, cutoff, "", 100)
	must(t, err)
	if want := sortedDigests(linked, refd); !slices.Equal(blobDigests(got), want) {
		t.Fatalf("garbage blobs after repository delete = %v, want %v", blobDigests(got), want)
	}
}

func testBlobDeletions(t *testing.T, s meta.Store) {
	ctx := t.Context()
	a, b := digest.FromString("a"), digest.FromString("b")
	_, err := s.GetBlobDeletion(ctx, a)
	wantErr(t, err, meta.ErrNotFound)
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.PutBlobDeletion(ctx, &meta.BlobDeletion{Digest: a, Size: 1, State: meta.BlobDeleting, StartedAt: ts(1)})
	}))
	must(t, s.PutBlobDeletion(ctx, &meta.BlobDeletion{Digest: b, Size: 2, State: meta.BlobDeleting, StartedAt: ts(1)}))
	d, err := s.GetBlobDeletion(ctx, a)
	must(t, err)
	if d.Digest != a || d.Size != 1 || d.State != meta.BlobDeleting || !d.StartedAt.Equal(ts(1)) || !d.FinishedAt.IsZero() {
		t.Fatalf("GetBlobDeletion = %+v", d)
	}
	pending, err := s.ListBlobDeletions(ctx, meta.BlobDeleting, "", 10)
	must(t, err)
	if len(pending) != 2 {
		t.Fatalf("pending deletions = %+v, want 2", pending)
	}
	must(t, s.PutBlobDeletion(ctx, &meta.BlobDeletion{Digest: a, Size: 1, State: meta.BlobDeleted, StartedAt: ts(1), FinishedAt: ts(5)}))
	pending, err = s.ListBlobDeletions(ctx, meta.BlobDeleting, "", 10)
	must(t, err)
	if len(pending) != 1 || pending[0].Digest != b {
		t.Fatalf("pending deletions = %+v, want only %s", pending, b)
	}
	n, err := s.PruneBlobDeletions(ctx, ts(5))
	must(t, err)
	if n != 0 {
		t.Fatalf("pruned %d finished at the cutoff, want 0", n)
	}
	n, err = s.PruneBlobDeletions(ctx, ts(6))
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d, want 1 (DELETING tombstones stay)", n)
	}
	_, err = s.GetBlobDeletion(ctx, a)
	wantErr(t, err, meta.ErrNotFound)
}

func testUsage(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u, err := s.RepositoryUsage(ctx, "nope")
	must(t, err)
	if *u != (meta.RepositoryUsage{Repository: "nope"}) {
		t.Fatalf("usage of unknown repository = %+v", u)
	}
	createRepo(t, s, "use")
	l1 := putBlob(t, s, "use", "layer-1")   // 7 bytes
	l2 := putBlob(t, s, "use", "layer-22")  // 8 bytes
	putBlob(t, s, "use", "unreferenced-xx") // not counted
	m1 := newManifest("use", "one")
	must(t, s.PutManifest(ctx, m1, meta.Refs{Blobs: []digest.Digest{l1, l2}}))
	m2 := newManifest("use", "two")
	must(t, s.PutManifest(ctx, m2, meta.Refs{Blobs: []digest.Digest{l1}}))
	putManifest(t, s, "use", "untagged")
	setTag(t, s, "use", "v1", m1.Digest)
	setTag(t, s, "use", "latest", m1.Digest)
	setTag(t, s, "use", "v2", m2.Digest)
	u, err = s.RepositoryUsage(ctx, "use")
	must(t, err)
	want := meta.RepositoryUsage{Repository: "use", Images: 3, Tagged: 2, Tags: 3, RawBytes: 7 + 8 + 7, DedupBytes: 7 + 8}
	if *u != want {
		t.Fatalf("usage = %+v, want %+v", *u, want)
	}
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		got, err := q.RepositoryUsage(ctx, "use")
		if err == nil && *got != want {
			t.Errorf("usage in a transaction = %+v, want %+v", *got, want)
		}
		return err
	}))
}

func testCreationTemplates(t *testing.T, s meta.Store) {
	ctx := t.Context()
	_, err := s.GetCreationTemplate(ctx, "ROOT")
	wantErr(t, err, meta.ErrNotFound)
	root := &meta.CreationTemplate{Prefix: "ROOT", Document: []byte(`{"a":1}`), CreatedAt: ts(1), UpdatedAt: ts(1)}
	must(t, s.CreateCreationTemplate(ctx, root))
	wantErr(t, s.CreateCreationTemplate(ctx, root), meta.ErrExists)
	must(t, s.InTx(ctx, func(q meta.Queries) error {
		return q.CreateCreationTemplate(ctx, &meta.CreationTemplate{Prefix: "team/x", Document: []byte(`{}`), CreatedAt: ts(2), UpdatedAt: ts(2)})
	}))
	got, err := s.GetCreationTemplate(ctx, "ROOT")
	must(t, err)
	if got.Prefix != "ROOT" || !bytes.Equal(got.Document, root.Document) || !got.CreatedAt.Equal(ts(1)) || !got.UpdatedAt.Equal(ts(1)) {
		t.Fatalf("GetCreationTemplate = %+v", got)
	}
	must(t, s.UpdateCreationTemplate(ctx, &meta.CreationTemplate{Prefix: "ROOT", Document: []byte(`{"a":2}`), UpdatedAt: ts(3)}))
	got, err = s.GetCreationTemplate(ctx, "ROOT")
	must(t, err)
	if string(got.Document) != `{"a":2}` || !got.CreatedAt.Equal(ts(1)) || !got.UpdatedAt.Equal(ts(3)) {
		t.Fatalf("after update = %+v", got)
	}
	wantErr(t, s.UpdateCreationTemplate(ctx, &meta.CreationTemplate{Prefix: "nope", UpdatedAt: ts(3)}), meta.ErrNotFound)
	list, err := s.ListCreationTemplates(ctx, "", 0)
	must(t, err)
	if len(list) != 2 || list[0].Prefix != "ROOT" || list[1].Prefix != "team/x" {
		t.Fatalf("ListCreationTemplates = %+v", list)
	}
	list, err = s.ListCreationTemplates(ctx, "ROOT", 1)
	must(t, err)
	if len(list) != 1 || list[0].Prefix != "team/x" {
		t.Fatalf("ListCreationTemplates after ROOT = %+v", list)
	}
	must(t, s.DeleteCreationTemplate(ctx, "ROOT"))
	wantErr(t, s.DeleteCreationTemplate(ctx, "ROOT"), meta.ErrNotFound)
}
