package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

const mib = 1 << 20

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeChunks starts an upload and writes data in the given chunk sizes,
// returning the final state.
func writeChunks(t *testing.T, s *Store, id string, data []byte, chunks []int) []byte {
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
	if len(rest) != 0 {
		t.Fatalf("chunks leave %d bytes unwritten", len(rest))
	}
	return state
}

// upload writes data in the given chunk sizes and commits it.
func upload(t *testing.T, s *Store, id string, data []byte, chunks []int) digest.Digest {
	t.Helper()
	state := writeChunks(t, s, id, data, chunks)
	dgst := digest.FromBytes(data)
	if err := s.CommitUpload(context.Background(), id, state, int64(len(data)), dgst); err != nil {
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

// keys lists the store's keys under rel (relative to the store prefix).
func keys(t *testing.T, s *Store, rel string) []string {
	t.Helper()
	prefix := s.prefix + rel
	var out []string
	pager := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for pager.HasMorePages() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, strings.TrimPrefix(aws.ToString(o.Key), s.prefix))
		}
	}
	return out
}

func stateOf(t *testing.T, state []byte) *uploadState {
	t.Helper()
	st, err := parseState(state)
	if err != nil {
		t.Fatalf("parseState: %v", err)
	}
	return st
}

func TestWriteChunksCommitRead(t *testing.T) {
	s := newTestStore(t)
	small := make([]int, 70) // more than maxTails: forces a compaction
	for i := range small {
		small[i] = 1000
	}
	tests := []struct {
		name   string
		chunks []int
		parts  int // staged parts before commit
		tails  int // staged tail objects before commit
	}{
		{"empty", nil, 0, 0},
		{"empty chunk", []int{0}, 0, 0},
		{"one byte", []int{1}, 0, 1},
		{"three small chunks", []int{3, 3, 4}, 0, 3},
		{"chunk with zero", []int{5, 0, 5}, 0, 2},
		{"many tiny chunks compacted", small, 0, 70 - maxTails},
		{"exactly a part", []int{MinPartSize}, 1, 0},
		{"small chunks reach a part", []int{3 * mib, 3 * mib, mib}, 1, 1},
		{"tail then large chunk", []int{mib, mib, 12 * mib}, 2, 0},
		{"large chunk", []int{20*mib + 1}, 2, 1},
		{"part then several tails", []int{6 * mib, 100, 200}, 1, 2},
		{"parts and tails mixed", []int{4 * mib, 100, 9 * mib, 3 * mib, 5}, 2, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := 0
			for _, c := range tt.chunks {
				total += c
			}
			data := randBytes(t, total)
			id := fmt.Sprintf("upload-%d", i)
			state := writeChunks(t, s, id, data, tt.chunks)
			st := stateOf(t, state)
			if len(st.Parts) != tt.parts || len(st.Tail) != tt.tails {
				t.Errorf("staged %d parts and %d tails, want %d and %d", len(st.Parts), len(st.Tail), tt.parts, tt.tails)
			}
			for j, p := range st.Parts {
				if j < len(st.Parts)-1 || len(st.Tail) > 0 {
					if p.Size < MinPartSize {
						t.Errorf("part %d of %d bytes is below the S3 minimum", j, p.Size)
					}
				}
			}
			dgst := digest.FromBytes(data)
			if err := s.CommitUpload(context.Background(), id, state, int64(total), dgst); err != nil {
				t.Fatalf("CommitUpload: %v", err)
			}
			if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes differing from the %d written", len(got), len(data))
			}
			size, err := s.Stat(context.Background(), dgst)
			if err != nil || size != int64(total) {
				t.Fatalf("Stat = %d, %v; want %d", size, err, total)
			}
			if left := keys(t, s, "uploads/"+id+"/"); len(left) != 0 {
				t.Fatalf("staged objects left after commit: %v", left)
			}
			if got := keys(t, s, "blobs/sha256/"+dgst.Encoded()); len(got) != 1 {
				t.Fatalf("blob key: %v", got)
			}
		})
	}
}

func TestRangedReads(t *testing.T) {
	s := newTestStore(t)
	data := randBytes(t, 7*mib+3)
	dgst := upload(t, s, "u", data, []int{3 * mib, 4*mib + 3})
	rc, size, err := s.Open(context.Background(), dgst)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if size != int64(len(data)) {
		t.Fatalf("size %d, want %d", size, len(data))
	}
	tests := []struct {
		name   string
		offset int64
		whence int
		pos    int64
		n      int
	}{
		{"start", 0, io.SeekStart, 0, 100},
		{"continue", 0, io.SeekCurrent, 100, 1000},
		{"middle", 3*mib - 10, io.SeekStart, 3*mib - 10, 20},
		{"back", -20, io.SeekCurrent, 3*mib - 10, 5},
		{"from end", -7, io.SeekEnd, int64(len(data)) - 7, 7},
		{"start again", 0, io.SeekStart, 0, 10},
	}
	for _, tt := range tests {
		pos, err := rc.Seek(tt.offset, tt.whence)
		if err != nil || pos != tt.pos {
			t.Fatalf("%s: Seek = %d, %v; want %d", tt.name, pos, err, tt.pos)
		}
		got := make([]byte, tt.n)
		if _, err := io.ReadFull(rc, got); err != nil {
			t.Fatalf("%s: read: %v", tt.name, err)
		}
		if !bytes.Equal(got, data[tt.pos:tt.pos+int64(tt.n)]) {
			t.Fatalf("%s: wrong bytes at %d", tt.name, tt.pos)
		}
	}
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != size {
		t.Fatalf("Seek end = %d, %v", end, err)
	}
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read at end = %d, %v; want EOF", n, err)
	}
	if _, err := rc.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("negative seek accepted")
	}
}

// http.ServeContent is how the server sends blobs: it seeks to the end for
// the size and serves Range requests.
func TestServeContent(t *testing.T) {
	s := newTestStore(t)
	data := randBytes(t, 6*mib)
	dgst := upload(t, s, "u", data, []int{len(data)})
	tests := []struct {
		rangeHdr string
		status   int
		want     []byte
	}{
		{"", http.StatusOK, data},
		{"bytes=0-9", http.StatusPartialContent, data[:10]},
		{"bytes=5242870-5242890", http.StatusPartialContent, data[5242870:5242891]},
		{"bytes=-5", http.StatusPartialContent, data[len(data)-5:]},
	}
	for _, tt := range tests {
		t.Run(tt.rangeHdr, func(t *testing.T) {
			rc, _, err := s.Open(context.Background(), dgst)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			req := httptest.NewRequest(http.MethodGet, "/blob", nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			http.ServeContent(rec, req, "", time.Time{}, rc)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if !bytes.Equal(rec.Body.Bytes(), tt.want) {
				t.Fatalf("body of %d bytes differs from the %d wanted", rec.Body.Len(), len(tt.want))
			}
		})
	}
}

func TestCommitTruncatesToSize(t *testing.T) {
	s := newTestStore(t)
	data := randBytes(t, 7*mib)
	tests := []struct {
		name   string
		chunks []int
		size   int
	}{
		{"within a tail", []int{10, 10}, 15},
		{"within a part", []int{7 * mib}, 6*mib + 1},
		{"after the parts", []int{6 * mib, mib}, 6 * mib},
		{"within the tail after a part", []int{6 * mib, 100, 200}, 6*mib + 150},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := 0
			for _, c := range tt.chunks {
				total += c
			}
			id := fmt.Sprintf("u%d", i)
			state := writeChunks(t, s, id, data[:total], tt.chunks)
			want := data[:tt.size]
			dgst := digest.FromBytes(want)
			if err := s.CommitUpload(context.Background(), id, state, int64(len(want)), dgst); err != nil {
				t.Fatal(err)
			}
			if got := readBlob(t, s, dgst); !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want the first %d", len(got), len(want))
			}
		})
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
	s := newTestStore(t)
	first := randBytes(t, 10)
	big := randBytes(t, 20*mib)
	tests := []struct {
		name     string
		offset   int // offset of the failed and the retried write
		failData []byte
		failAt   int
	}{
		{"fail at start of upload", 0, []byte("garbage-garbage-garbage"), 7},
		{"fail immediately", len(first), []byte("junk"), 0},
		{"fail midway", len(first), []byte("garbage-garbage-garbage"), 11},
		{"fail after a part was stored", len(first), big, 17 * mib},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			id := fmt.Sprintf("u%d", i)
			state, err := s.StartUpload(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if tt.offset > 0 {
				if _, state, err = s.WriteUpload(ctx, id, state, 0, bytes.NewReader(first)); err != nil {
					t.Fatal(err)
				}
			}
			_, kept, err := s.WriteUpload(ctx, id, state, int64(tt.offset), &failingReader{data: tt.failData, n: tt.failAt})
			if !errors.Is(err, errBroken) {
				t.Fatalf("failed write: err = %v, want %v", err, errBroken)
			}
			if !bytes.Equal(kept, state) {
				t.Fatal("failed write changed the state")
			}
			retry := []byte("the-good-tail")
			n, state, err := s.WriteUpload(ctx, id, state, int64(tt.offset), bytes.NewReader(retry))
			if err != nil || n != int64(len(retry)) {
				t.Fatalf("retry: n=%d err=%v", n, err)
			}
			want := append(append([]byte{}, first[:tt.offset]...), retry...)
			dgst := digest.FromBytes(want)
			if err := s.CommitUpload(ctx, id, state, int64(len(want)), dgst); err != nil {
				t.Fatal(err)
			}
			if got := readBlob(t, s, dgst); !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			// Orphans of the failed write went with the upload.
			if left := keys(t, s, "uploads/"+id+"/"); len(left) != 0 {
				t.Fatalf("objects left after commit: %v", left)
			}
		})
	}
}

func TestWriteUploadErrors(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	started, err := s.StartUpload(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       string
		state    []byte
		offset   int64
		notFound bool
	}{
		{"missing upload", "nope", nil, 0, true},
		{"offset beyond size", "u", started, 5, false},
		{"negative offset", "u", started, -1, false},
		{"invalid id", "../u", started, 0, false},
		{"corrupt state", "u", []byte(`{"v":1,"tail":[{"name":"../x","size":1}]}`), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.WriteUpload(ctx, tt.id, tt.state, tt.offset, strings.NewReader("data"))
			if err == nil {
				t.Fatal("WriteUpload succeeded, want error")
			}
			if got := errors.Is(err, blob.ErrNotFound); got != tt.notFound {
				t.Fatalf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.WriteUpload(cctx, "u", started, 0, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: err = %v", err)
	}
}

func TestReadUpload(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	data := randBytes(t, 6*mib+300)
	state := writeChunks(t, s, "u", data, []int{6 * mib, 100, 200})
	tests := []struct {
		name    string
		id      string
		state   []byte
		size    int64
		want    []byte
		wantErr bool
		nf      bool
	}{
		{"all", "u", state, int64(len(data)), data, false, false},
		{"within the part", "u", state, 5, data[:5], false, false},
		{"into the tail", "u", state, 6*mib + 150, data[:6*mib+150], false, false},
		{"none", "u", state, 0, []byte{}, false, false},
		{"too long", "u", state, int64(len(data)) + 1, nil, true, false},
		{"negative", "u", state, -1, nil, true, false},
		{"missing", "other", nil, 1, nil, true, true},
		{"bad id", "a/b", state, 1, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := s.ReadUpload(ctx, tt.id, tt.state, tt.size)
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
				t.Fatalf("got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
	// Reading leaves the upload intact: it still commits.
	if err := s.CommitUpload(ctx, "u", state, int64(len(data)), digest.FromBytes(data)); err != nil {
		t.Fatalf("commit after read: %v", err)
	}
}

func TestCommitExisting(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	data := randBytes(t, 6*mib)
	dgst := upload(t, s, "first", data, []int{len(data)})
	key, _ := s.blobKey(dgst)
	before, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}

	state := writeChunks(t, s, "second", data, []int{100, len(data) - 100})
	if err := s.CommitUpload(ctx, "second", state, int64(len(data)), dgst); err != nil {
		t.Fatal(err)
	}
	after, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(before.ETag) != aws.ToString(after.ETag) || !aws.ToTime(before.LastModified).Equal(aws.ToTime(after.LastModified)) {
		t.Fatal("committing existing content rewrote the blob; want the upload dropped")
	}
	if left := keys(t, s, "uploads/second/"); len(left) != 0 {
		t.Fatalf("second upload's objects not removed: %v", left)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatal("content changed")
	}
	// A retried commit of an upload already committed succeeds.
	if err := s.CommitUpload(ctx, "second", state, int64(len(data)), dgst); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	// But a commit of an unknown upload whose blob does not exist is not found,
	err = s.CommitUpload(ctx, "ghost", nil, 3, digest.FromString("abc"))
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("commit of missing upload: %v, want ErrNotFound", err)
	}
	// and so is one whose staged objects are gone.
	stale := writeChunks(t, s, "gone", []byte("abc"), []int{3})
	if err := s.AbortUpload(ctx, "gone", stale); err != nil {
		t.Fatal(err)
	}
	err = s.CommitUpload(ctx, "gone", stale, 3, digest.FromString("abc"))
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("commit of aborted upload: %v, want ErrNotFound", err)
	}
}

func TestCommitTooShort(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	state := writeChunks(t, s, "u", []byte("abc"), []int{3})
	dgst := digest.FromString("abcd")
	if err := s.CommitUpload(ctx, "u", state, 4, dgst); err == nil {
		t.Fatal("commit of more bytes than uploaded succeeded")
	}
	if _, err := s.Stat(ctx, dgst); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("blob visible after failed commit: %v", err)
	}
	if left := keys(t, s, "uploads/u/"); len(left) != 1 {
		t.Fatalf("upload objects after failed commit: %v", left)
	}
}

// Consecutive chunks may land on different nodes: each node has only the
// state the previous one returned.
func TestContinueOnAnotherNode(t *testing.T) {
	cfg := newTestConfig(t)
	nodes := []*Store{openTestStore(t, cfg), openTestStore(t, cfg), openTestStore(t, cfg)}
	ctx := context.Background()
	data := randBytes(t, 17*mib+5)
	chunks := []int{3 * mib, 4 * mib, 100, 9 * mib, mib - 100, 5}
	state, err := nodes[0].StartUpload(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for i, c := range chunks {
		node := nodes[(i+1)%len(nodes)]
		n, st, err := node.WriteUpload(ctx, "u", state, off, bytes.NewReader(data[off:off+int64(c)]))
		if err != nil {
			t.Fatalf("chunk %d on node %d: %v", i, (i+1)%len(nodes), err)
		}
		state, off = st, off+n
	}
	dgst := digest.FromBytes(data)
	if err := nodes[2].CommitUpload(ctx, "u", state, off, dgst); err != nil {
		t.Fatal(err)
	}
	if got := readBlob(t, nodes[1], dgst); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

// Two writers racing from the same state (a retry on another node while
// the first is still running) each write their own objects: whichever state
// the caller keeps commits exactly that writer's bytes.
func TestRacingWritersKeepTheirOwnBytes(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	for _, size := range []int{100, 6 * mib} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			id := fmt.Sprintf("u%d", size)
			base := writeChunks(t, s, id, []byte("head"), []int{4})
			a, b := randBytes(t, size), randBytes(t, size)
			var wg sync.WaitGroup
			states := make([][]byte, 2)
			errs := make([]error, 2)
			for i, d := range [][]byte{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, states[i], errs[i] = s.WriteUpload(ctx, id, base, 4, bytes.NewReader(d))
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("writes: %v, %v", errs[0], errs[1])
			}
			// The caller kept the first writer's state.
			rc, err := s.ReadUpload(ctx, id, states[0], int64(4+size))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[4:], a) {
				t.Fatal("upload holds the other writer's bytes")
			}
		})
	}
}

func TestConcurrentCommitsSameDigest(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	data := randBytes(t, 6*mib+10)
	dgst := digest.FromBytes(data)
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("u%d", i)
			state, err := s.StartUpload(ctx, id)
			if err == nil {
				_, state, err = s.WriteUpload(ctx, id, state, 0, bytes.NewReader(data))
			}
			if err == nil {
				err = s.CommitUpload(ctx, id, state, int64(len(data)), dgst)
			}
			errs <- err
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
	if left := keys(t, s, "uploads/"); len(left) != 0 {
		t.Fatalf("upload objects left after commits: %v", left)
	}
}

func TestNotFound(t *testing.T) {
	s := newTestStore(t)
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
			if IsUnavailable(err) {
				t.Fatalf("not found reported as unavailable: %v", err)
			}
		})
	}
}

func TestDeleteAndAbort(t *testing.T) {
	s := newTestStore(t)
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

	data := randBytes(t, 6*mib+10)
	state := writeChunks(t, s, "v", data, []int{6 * mib, 10})
	// An orphan of a failed write, which the state does not name.
	if _, _, err := s.WriteUpload(ctx, "v", state, int64(len(data)), &failingReader{data: []byte("x"), n: 1}); !errors.Is(err, errBroken) {
		t.Fatal(err)
	}
	if got := keys(t, s, "uploads/v/"); len(got) < 2 {
		t.Fatalf("staged objects before abort: %v", got)
	}
	for i := range 2 {
		if err := s.AbortUpload(ctx, "v", state); err != nil {
			t.Fatalf("AbortUpload #%d: %v", i+1, err)
		}
	}
	if left := keys(t, s, "uploads/v/"); len(left) != 0 {
		t.Fatalf("objects left after abort: %v", left)
	}
}

func TestValidation(t *testing.T) {
	s := newTestStore(t)
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
		{"upper hex", digest.Digest("sha256:" + strings.ToUpper(hex))},
		{"short", digest.Digest("sha256:" + hex[:63])},
		{"unknown algorithm", digest.Digest("md5:" + hex[:32])},
		{"separator in hex", digest.Digest("sha256:" + hex[:30] + "/" + hex[31:])},
	}
	for _, tt := range badDigests {
		t.Run("digest "+tt.name, func(t *testing.T) {
			if _, err := s.blobKey(tt.d); err == nil {
				t.Fatalf("blobKey(%q) accepted", tt.d)
			}
			if _, err := s.Stat(ctx, tt.d); err == nil || errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Stat(%q) = %v, want a validation error", tt.d, err)
			}
			if err := s.Delete(ctx, tt.d); err == nil {
				t.Fatalf("Delete(%q) accepted", tt.d)
			}
			if _, err := s.PresignGet(ctx, tt.d, time.Minute); err == nil {
				t.Fatalf("PresignGet(%q) accepted", tt.d)
			}
		})
	}
	badIDs := []string{"", "..", ".", "../x", "a/b", "/abs", `a\b`, "a b", "a.b", "a\x00b", "é", strings.Repeat("a", blob.MaxUploadIDLength+1)}
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
}

func TestPresignGet(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	data := []byte("fetch me without credentials")
	dgst := upload(t, s, "u", data, []int{len(data)})
	u, err := s.PresignGet(ctx, dgst, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, got)
	}
	for _, ttl := range []time.Duration{0, -time.Second, 8 * 24 * time.Hour} {
		if _, err := s.PresignGet(ctx, dgst, ttl); err == nil {
			t.Errorf("PresignGet ttl %s accepted", ttl)
		}
	}
}

func TestRemoveStaleUploadFiles(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	ids := []string{"a-orphan", "b-kept", "c-orphan"}
	for _, id := range ids {
		writeChunks(t, s, id, []byte("0123456789"), []int{4, 6})
	}
	keep := func(id string) bool { return id == "b-kept" }

	// Nothing is older than an hour ago.
	n, err := s.RemoveStaleUploadFiles(ctx, time.Now().Add(-time.Hour), keep)
	if err != nil || n != 0 {
		t.Fatalf("sweep of fresh uploads removed %d, %v", n, err)
	}
	n, err = s.RemoveStaleUploadFiles(ctx, time.Now().Add(time.Hour), keep)
	if err != nil || n != 2 {
		t.Fatalf("sweep removed %d, %v; want 2", n, err)
	}
	left := keys(t, s, "uploads/")
	if len(left) != 2 || !strings.HasPrefix(left[0], "uploads/b-kept/") {
		t.Fatalf("left after sweep: %v", left)
	}
	n, err = s.RemoveStaleUploadFiles(ctx, time.Now().Add(time.Hour), nil)
	if err != nil || n != 1 {
		t.Fatalf("nil keep removed %d, %v; want 1", n, err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	cfg := newTestConfig(t)
	ln := httptest.NewServer(http.NotFoundHandler())
	endpoint := ln.URL
	ln.Close() // nothing listens there now
	cfg.Endpoint = endpoint
	_, err := New(context.Background(), cfg)
	if err == nil {
		t.Fatal("New against a closed port succeeded")
	}
	if !IsUnavailable(err) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func BenchmarkWriteCommit64MiB(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	data := randBytes(b, 64<<20)
	dgst := digest.FromBytes(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var commit time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("u%d", i)
		state, err := s.StartUpload(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, state, err = s.WriteUpload(ctx, id, state, 0, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.CommitUpload(ctx, id, state, int64(len(data)), dgst); err != nil {
			b.Fatal(err)
		}
		commit += time.Since(start)
		// Delete so every iteration pays the full commit.
		b.StopTimer()
		if err := s.Delete(ctx, dgst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	// The commit is a server-side copy; report its share of the time.
	b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit-ms/op")
}

// recordingTransport notes the SSE headers of every request that writes.
type recordingTransport struct {
	mu   sync.Mutex
	seen map[string][]string // "METHOD query-shape" -> SSE header values
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Method
	q := req.URL.Query()
	switch {
	case q.Has("uploads"):
		op += " create-multipart"
	case q.Has("partNumber") && req.Header.Get("X-Amz-Copy-Source") != "":
		op += " upload-part-copy"
	case q.Has("partNumber"):
		op += " upload-part"
	case q.Has("uploadId"):
		op += " complete-multipart"
	case req.Header.Get("X-Amz-Copy-Source") != "":
		op += " copy"
	case req.Method == http.MethodPut:
		op += " put"
	default:
		return http.DefaultTransport.RoundTrip(req)
	}
	rt.mu.Lock()
	rt.seen[op] = append(rt.seen[op], req.Header.Get("X-Amz-Server-Side-Encryption")+"|"+req.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestSSEHeaders(t *testing.T) {
	cfg := newTestConfig(t)
	cfg.SSE = "AES256"
	rt := &recordingTransport{seen: map[string][]string{}}
	base := openTestStore(t, cfg)
	// The same store, with requests recorded on their way out.
	s := newStore(s3.New(base.client.Options(), func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: rt} }), cfg)
	data := randBytes(t, 6*mib+10)
	upload(t, s, "multipart", data, []int{6 * mib, 5, 5})
	upload(t, s, "copy", data[:100], []int{100})
	upload(t, s, "put", data[:100], []int{50, 50})
	want := map[string]string{
		"PUT put":                 "AES256|", // staged objects and small blobs
		"POST create-multipart":   "AES256|", // the final object's upload
		"PUT copy":                "AES256|", // the final object as a copy
		"PUT upload-part-copy":    "|",       // parts inherit the upload's encryption
		"PUT upload-part":         "|",
		"POST complete-multipart": "|",
	}
	for op, w := range want {
		vals := rt.seen[op]
		if len(vals) == 0 {
			t.Errorf("%s: no requests seen", op)
		}
		for _, v := range vals {
			if v != w {
				t.Errorf("%s: SSE headers %q, want %q", op, v, w)
			}
		}
	}
}

func TestSHA512(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	data := []byte("sha512 content")
	state := writeChunks(t, s, "u", data, []int{len(data)})
	dgst := digest.SHA512.FromBytes(data)
	if err := s.CommitUpload(ctx, "u", state, int64(len(data)), dgst); err != nil {
		t.Fatalf("CommitUpload sha512: %v", err)
	}
	if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
	if got := keys(t, s, "blobs/sha512/"); len(got) != 1 || got[0] != "blobs/sha512/"+dgst.Encoded() {
		t.Fatalf("keys %v", got)
	}
}
