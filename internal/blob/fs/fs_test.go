package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, root
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// upload writes data in the given chunk sizes and commits it.
func upload(t *testing.T, s *Store, id string, data []byte, chunks []int) digest.Digest {
	t.Helper()
	ctx := context.Background()
	state, err := s.StartUpload(ctx, id)
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	var off int64
	rest := data
	for _, c := range chunks {
		n, st, err := s.WriteUpload(ctx, id, state, off, bytes.NewReader(rest[:c]))
		if err != nil {
			t.Fatalf("WriteUpload at %d: %v", off, err)
		}
		if n != int64(c) {
			t.Fatalf("WriteUpload wrote %d, want %d", n, c)
		}
		state, off, rest = st, off+n, rest[c:]
	}
	dgst := digest.FromBytes(data)
	if err := s.CommitUpload(ctx, id, state, off, dgst); err != nil {
		t.Fatalf("CommitUpload: %v", err)
	}
	return dgst
}

func readBlob(t *testing.T, s *Store, dgst digest.Digest) []byte {
	t.Helper()
	rc, size, err := s.Open(context.Background(), dgst)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if int64(len(got)) != size {
		t.Fatalf("Open size %d, read %d bytes", size, len(got))
	}
	return got
}

func TestWriteChunksCommitRead(t *testing.T) {
	big := bufSize*2 + 12345 // spans several pooled buffers
	tests := []struct {
		name   string
		size   int
		chunks []int
	}{
		{"empty", 0, nil},
		{"empty chunk", 0, []int{0}},
		{"one byte", 1, []int{1}},
		{"three chunks", 10, []int{3, 3, 4}},
		{"chunk with zero", 10, []int{5, 0, 5}},
		{"larger than buffer", big, []int{big}},
		{"chunks across buffer", big, []int{bufSize - 1, 2, big - bufSize - 1}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, root := newStore(t)
			data := randBytes(t, tt.size)
			id := fmt.Sprintf("upload-%d", i)
			dgst := upload(t, s, id, data, tt.chunks)

			if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes differing from the %d written", len(got), len(data))
			}
			size, err := s.Stat(context.Background(), dgst)
			if err != nil || size != int64(tt.size) {
				t.Fatalf("Stat = %d, %v; want %d", size, err, tt.size)
			}
			want := filepath.Join(root, "blobs", "sha256", dgst.Encoded()[:2], dgst.Encoded())
			if _, err := os.Stat(want); err != nil {
				t.Fatalf("blob not at %s: %v", want, err)
			}
			if _, err := os.Stat(filepath.Join(root, "uploads", id)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("upload file still present after commit: %v", err)
			}
		})
	}
}

func TestSHA512(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	data := []byte("sha512 content")
	if _, err := s.StartUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteUpload(ctx, "u", nil, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	dgst := digest.SHA512.FromBytes(data)
	if err := s.CommitUpload(ctx, "u", nil, int64(len(data)), dgst); err != nil {
		t.Fatalf("CommitUpload sha512: %v", err)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
}

func TestCommitRecreatesMissingPrefixDir(t *testing.T) {
	s, root := newStore(t)
	data := []byte("prefix dir gone")
	dgst := digest.FromBytes(data)
	dir := filepath.Join(root, "blobs", "sha256", dgst.Encoded()[:2])
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	upload(t, s, "u", data, []int{len(data)})
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
}

func TestCommitTruncatesToSize(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	data := []byte("keep this|drop this")
	if _, err := s.StartUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteUpload(ctx, "u", nil, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	want := data[:9]
	dgst := digest.FromBytes(want)
	if err := s.CommitUpload(ctx, "u", nil, int64(len(want)), dgst); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// failingReader yields n bytes of data and then fails.
type failingReader struct {
	data []byte
	n    int
}

var errBroken = errors.New("connection reset")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBroken
	}
	k := copy(p, r.data[:min(len(p), r.n)])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

func TestRewriteAfterFailedWrite(t *testing.T) {
	first := []byte("0123456789")
	tests := []struct {
		name     string
		offset   int64 // offset of the failed and the retried write
		failData []byte
		failAt   int
	}{
		{"fail at start of upload", 0, []byte("garbage-garbage-garbage"), 7},
		{"fail immediately", int64(len(first)), []byte("junk"), 0},
		{"fail midway", int64(len(first)), []byte("garbage-garbage-garbage"), 11},
		{"fail after more than a buffer", int64(len(first)), bytes.Repeat([]byte("x"), bufSize+100), bufSize + 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			ctx := context.Background()
			if _, err := s.StartUpload(ctx, "u"); err != nil {
				t.Fatal(err)
			}
			if tt.offset > 0 {
				if _, _, err := s.WriteUpload(ctx, "u", nil, 0, bytes.NewReader(first)); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := s.WriteUpload(ctx, "u", nil, tt.offset, &failingReader{data: tt.failData, n: tt.failAt})
			if !errors.Is(err, errBroken) {
				t.Fatalf("failed write: err = %v, want %v", err, errBroken)
			}
			retry := []byte("the-good-tail")
			n, _, err := s.WriteUpload(ctx, "u", nil, tt.offset, bytes.NewReader(retry))
			if err != nil || n != int64(len(retry)) {
				t.Fatalf("retry: n=%d err=%v", n, err)
			}
			want := append(append([]byte{}, first[:tt.offset]...), retry...)
			dgst := digest.FromBytes(want)
			if err := s.CommitUpload(ctx, "u", nil, int64(len(want)), dgst); err != nil {
				t.Fatal(err)
			}
			if got := readBlob(t, s, dgst); !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestWriteUploadErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		id       string
		start    bool
		offset   int64
		notFound bool
	}{
		{"missing upload", "nope", false, 0, true},
		{"offset beyond size", "u", true, 5, false},
		{"negative offset", "u", true, -1, false},
		{"invalid id", "../u", false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			if tt.start {
				if _, err := s.StartUpload(ctx, tt.id); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := s.WriteUpload(ctx, tt.id, nil, tt.offset, strings.NewReader("data"))
			if err == nil {
				t.Fatal("WriteUpload succeeded, want error")
			}
			if got := errors.Is(err, blob.ErrNotFound); got != tt.notFound {
				t.Fatalf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
		})
	}
}

func TestWriteUploadCanceledContext(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.StartUpload(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.WriteUpload(ctx, "u", nil, 0, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// blockingReader yields its data, then blocks until release is closed.
type blockingReader struct {
	data    []byte
	started chan struct{} // closed when the data is used up
	release chan struct{}
	once    sync.Once
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	r.once.Do(func() { close(r.started) })
	<-r.release
	return 0, io.EOF
}

func TestBusyUpload(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"u", "other"} {
		if _, err := s.StartUpload(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	br := &blockingReader{data: []byte("first"), started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.WriteUpload(ctx, "u", nil, 0, br)
		done <- err
	}()
	<-br.started // the write is in progress

	rivals := []struct {
		name string
		call func(id string) error
	}{
		{"WriteUpload", func(id string) error {
			_, _, err := s.WriteUpload(ctx, id, nil, 0, strings.NewReader("second"))
			return err
		}},
		{"CommitUpload", func(id string) error {
			return s.CommitUpload(ctx, id, nil, 0, digest.FromString(""))
		}},
		{"AbortUpload", func(id string) error { return s.AbortUpload(ctx, id, nil) }},
	}
	for _, r := range rivals {
		if err := r.call("u"); !errors.Is(err, ErrBusy) {
			t.Errorf("%s during a write: err = %v, want ErrBusy", r.name, err)
		}
	}
	n, err := s.RemoveStaleUploadFiles(ctx, time.Now().Add(time.Hour), nil)
	if err != nil || n != 1 {
		t.Errorf("sweep during a write removed %d (%v); want only the idle upload", n, err)
	}
	close(br.release)
	if err := <-done; err != nil {
		t.Fatalf("blocked write: %v", err)
	}
	// Released: the upload is usable again and holds the first write.
	if _, _, err := s.WriteUpload(ctx, "u", nil, 5, strings.NewReader("+more")); err != nil {
		t.Fatalf("write after release: %v", err)
	}
	rc, err := s.ReadUpload(ctx, "u", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "first+more" {
		t.Fatalf("upload holds %q", got)
	}
}

func TestStartUploadTwice(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.StartUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartUpload(ctx, "u"); err == nil {
		t.Fatal("second StartUpload with the same id succeeded")
	}
}

func TestReadUpload(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	data := []byte("hello upload")
	if _, err := s.StartUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteUpload(ctx, "u", nil, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      string
		size    int64
		want    []byte
		wantErr bool
		nf      bool
	}{
		{"all", "u", int64(len(data)), data, false, false},
		{"prefix", "u", 5, data[:5], false, false},
		{"none", "u", 0, []byte{}, false, false},
		{"too long", "u", int64(len(data)) + 1, nil, true, false},
		{"negative", "u", -1, nil, true, false},
		{"missing", "other", 1, nil, true, true},
		{"bad id", "a/b", 1, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := s.ReadUpload(ctx, tt.id, nil, tt.size)
			if tt.wantErr {
				if err == nil {
					rc.Close()
					t.Fatal("ReadUpload succeeded, want error")
				}
				if errors.Is(err, blob.ErrNotFound) != tt.nf {
					t.Fatalf("err = %v, not-found want %v", err, tt.nf)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommitExisting(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	data := randBytes(t, 4096)
	dgst := upload(t, s, "first", data, []int{len(data)})
	p := filepath.Join(root, "blobs", "sha256", dgst.Encoded()[:2], dgst.Encoded())
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}

	upload(t, s, "second", data, []int{100, len(data) - 100})

	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("committing existing content replaced the blob file; want the upload dropped")
	}
	if _, err := os.Stat(filepath.Join(root, "uploads", "second")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("second upload file not removed: %v", err)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("content changed")
	}
	// A retried commit of an upload already committed succeeds.
	if err := s.CommitUpload(ctx, "second", nil, int64(len(data)), dgst); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	// But a commit of an unknown upload whose blob does not exist is not found.
	err = s.CommitUpload(ctx, "ghost", nil, 3, digest.FromString("abc"))
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("commit of missing upload: %v, want ErrNotFound", err)
	}
}

func TestCommitTooShort(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	if _, err := s.StartUpload(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteUpload(ctx, "u", nil, 0, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	dgst := digest.FromString("abcd")
	if err := s.CommitUpload(ctx, "u", nil, 4, dgst); err == nil {
		t.Fatal("commit of more bytes than uploaded succeeded")
	}
	if _, err := s.Stat(ctx, dgst); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("blob visible after failed commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "uploads", "u")); err != nil {
		t.Fatalf("upload lost after failed commit: %v", err)
	}
}

func TestConcurrentCommitsSameDigest(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	data := randBytes(t, 256<<10)
	dgst := digest.FromBytes(data)
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("u%d", i)
			if _, err := s.StartUpload(ctx, id); err != nil {
				errs <- err
				return
			}
			if _, _, err := s.WriteUpload(ctx, id, nil, 0, bytes.NewReader(data)); err != nil {
				errs <- err
				return
			}
			errs <- s.CommitUpload(ctx, id, nil, int64(len(data)), dgst)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent commit: %v", err)
		}
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("content differs after concurrent commits")
	}
	left, err := os.ReadDir(filepath.Join(root, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d upload files left after commits", len(left))
	}
}

func TestOpenReturnsOSFile(t *testing.T) {
	s, _ := newStore(t)
	dgst := upload(t, s, "u", []byte("sendfile me"), []int{11})
	rc, _, err := s.Open(context.Background(), dgst)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Fatalf("Open returned %T, want *os.File", rc)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	missing := digest.FromString("never stored")
	tests := []struct {
		name string
		call func() error
		nf   bool // want ErrNotFound; false means want nil
	}{
		{"Stat", func() error { _, err := s.Stat(ctx, missing); return err }, true},
		{"Open", func() error {
			rc, _, err := s.Open(ctx, missing)
			if err == nil {
				rc.Close()
			}
			return err
		}, true},
		{"Delete", func() error { return s.Delete(ctx, missing) }, false},
		{"AbortUpload", func() error { return s.AbortUpload(ctx, "nope", nil) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.nf && !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if !tt.nf && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
		})
	}
}

func TestDeleteAndAbort(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	dgst := upload(t, s, "u", []byte("delete me"), []int{9})
	for i := range 2 { // idempotent
		if err := s.Delete(ctx, dgst); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := s.Stat(ctx, dgst); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}

	if _, err := s.StartUpload(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.AbortUpload(ctx, "v", nil); err != nil {
			t.Fatalf("AbortUpload #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "uploads", "v")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("upload file present after abort: %v", err)
	}
}

func TestValidation(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	good := digest.FromString("x")
	hex := good.Encoded()
	badDigests := []struct {
		name string
		d    digest.Digest
	}{
		{"empty", ""},
		{"no algorithm", digest.Digest(hex)},
		{"traversal in hex", digest.Digest("sha256:../../../../etc/passwd")},
		{"traversal in algorithm", digest.Digest("../sha256:" + hex)},
		{"absolute", digest.Digest("/etc/passwd")},
		{"absolute hex", digest.Digest("sha256:/" + hex[1:])},
		{"upper hex", digest.Digest("sha256:" + strings.ToUpper(hex))},
		{"non-hex", digest.Digest("sha256:" + strings.Repeat("g", 64))},
		{"short", digest.Digest("sha256:" + hex[:63])},
		{"long", digest.Digest("sha256:" + hex + "0")},
		{"sha512 length for sha256", digest.Digest("sha256:" + strings.Repeat("a", 128))},
		{"unknown algorithm", digest.Digest("md5:" + hex[:32])},
		{"separator in hex", digest.Digest("sha256:" + hex[:30] + "/" + hex[31:])},
		{"nul byte", digest.Digest("sha256:" + hex[:63] + "\x00")},
	}
	for _, tt := range badDigests {
		t.Run("digest "+tt.name, func(t *testing.T) {
			if _, err := s.blobPath(tt.d); err == nil {
				t.Fatalf("blobPath(%q) accepted", tt.d)
			}
			if _, err := s.Stat(ctx, tt.d); err == nil || errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Stat(%q) = %v, want a validation error", tt.d, err)
			}
			if err := s.Delete(ctx, tt.d); err == nil {
				t.Fatalf("Delete(%q) accepted", tt.d)
			}
		})
	}
	badIDs := []string{
		"", "..", ".", "../x", "a/b", "/abs", `a\b`, "a b", "a.b", "a\x00b", "é",
		strings.Repeat("a", blob.MaxUploadIDLength+1),
	}
	for _, id := range badIDs {
		t.Run(fmt.Sprintf("id %q", id), func(t *testing.T) {
			if _, err := s.StartUpload(ctx, id); err == nil {
				t.Fatalf("StartUpload(%q) accepted", id)
			}
			if err := s.AbortUpload(ctx, id, nil); err == nil {
				t.Fatalf("AbortUpload(%q) accepted", id)
			}
		})
	}
	goodIDs := []string{"a", "A-b_9", strings.Repeat("z", blob.MaxUploadIDLength), "0d7f9b3c-2f1e-4c1a-9b7e-3f9e1c2a4b5d"}
	for _, id := range goodIDs {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
}

func TestRemoveStaleUploadFiles(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	files := []struct {
		id      string
		mtime   time.Time
		keep    bool
		removed bool
	}{
		{"old-orphan", old, false, true},
		{"old-kept", old, true, false},
		{"fresh-orphan", now, false, false},
		{"fresh-kept", now, true, false},
	}
	kept := map[string]bool{}
	for _, f := range files {
		if _, err := s.StartUpload(ctx, f.id); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(root, "uploads", f.id), f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
		kept[f.id] = f.keep
	}
	// Entries that are not upload files are never touched.
	stray := filepath.Join(root, "uploads", "not.an.id")
	if err := os.WriteFile(stray, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stray, old, old); err != nil {
		t.Fatal(err)
	}

	n, err := s.RemoveStaleUploadFiles(ctx, now.Add(-time.Hour), func(id string) bool { return kept[id] })
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("removed %d, want 1", n)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(root, "uploads", f.id))
		if gone := errors.Is(err, os.ErrNotExist); gone != f.removed {
			t.Errorf("%s: removed=%v, want %v (stat err %v)", f.id, gone, f.removed, err)
		}
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("stray file touched: %v", err)
	}

	// nil keep removes every stale upload.
	n, err = s.RemoveStaleUploadFiles(ctx, now.Add(-time.Hour), nil)
	if err != nil || n != 1 {
		t.Fatalf("nil keep: removed %d, %v; want 1", n, err)
	}
}

func TestNewReopen(t *testing.T) {
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	dgst := upload(t, s, "u", []byte("persist"), []int{7})
	s2, err := New(root)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := readBlob(t, s2, dgst); string(got) != "persist" {
		t.Fatalf("got %q after reopen", got)
	}
	if _, err := New(""); err == nil {
		t.Fatal("New(\"\") succeeded")
	}
}

func BenchmarkWriteCommit64MiB(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	data := randBytes(b, 64<<20)
	dgst := digest.FromBytes(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("u%d", i)
		if _, err := s.StartUpload(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.WriteUpload(ctx, id, nil, 0, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if err := s.CommitUpload(ctx, id, nil, int64(len(data)), dgst); err != nil {
			b.Fatal(err)
		}
		// Delete so every iteration pays the full fsync and rename.
		b.StopTimer()
		if err := s.Delete(ctx, dgst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
