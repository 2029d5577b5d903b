package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// blobStream is a deterministic pseudo-random byte stream, so a 256 MiB blob
// can be produced again (to resume or re-push it) without keeping it in memory.
func blobStream(seed [32]byte) io.Reader { return rand.NewChaCha8(seed) }

func streamDigest(seed [32]byte, size int64) digest.Digest {
	h := sha256.New()
	io.CopyN(h, blobStream(seed), size)
	return digest.NewDigest(digest.SHA256, h)
}

// requestURI reduces an upload Location to its path and query, so it still
// works if berth comes back on another port.
func requestURI(t testing.TB, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("bad Location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// fetchBlobDigest streams a blob from berth and returns its digest and size.
func fetchBlobDigest(t testing.TB, s *server, repo string, d digest.Digest) (digest.Digest, int64) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL("/v2/"+repo+"/blobs/"+d.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(loginUser, s.password())
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET blob %s: %v", d, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET /v2/%s/blobs/%s: status %d: %s", repo, d, resp.StatusCode, b)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("GET blob %s: reading: %v", d, err)
	}
	return digest.NewDigest(digest.SHA256, h), n
}

// TestCrashDuringUpload kills berth with SIGKILL in the middle of a large
// chunked upload and restarts it on the same data directory. The half-written
// blob must not be visible, the session must either resume consistently or be
// gone, what was committed before must be intact, and the same push must then
// succeed.
func TestCrashDuringUpload(t *testing.T) {
	s := startServer(t)
	const (
		repo  = "e2e/crash"
		size  = 256 << 20
		chunk = 32 << 20
	)
	var seed [32]byte
	copy(seed[:], randomBytes(t, 32))
	want := streamDigest(seed, size)
	blobPath := "/v2/" + repo + "/blobs/" + want.String()

	// Committed before the crash; must survive it.
	before := randomImage(t, 64<<10, 2)
	if err := remote.Write(ref(t, s, repo+":before"), before, s.remoteOpts(t)...); err != nil {
		t.Fatal(err)
	}

	loc := startUpload(t, s, repo)
	stream := blobStream(seed)
	var acked int64
	for i := 0; i < 3; i++ {
		r := s.doReader(t, http.MethodPatch, loc, io.LimitReader(stream, chunk), chunk,
			"Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", acked, acked+chunk-1))
		if !wantStatus(t, r, http.StatusAccepted) {
			t.FailNow()
		}
		acked += chunk
		loc = location(t, r)
	}
	loc = requestURI(t, loc)

	// The fourth chunk: berth dies after 16 MiB of it went out.
	const sentOfFourth = 16 << 20
	pr, pw := io.Pipe()
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		io.CopyN(pw, stream, sentOfFourth)
		s.Kill()
		pw.CloseWithError(errors.New("berth was killed"))
	}()
	_, err := s.send(context.Background(), http.MethodPatch, loc, pr, chunk,
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", acked, acked+chunk-1))
	<-killed
	if err == nil {
		t.Fatalf("PATCH %s succeeded although berth was killed in the middle of its body", loc)
	}
	t.Logf("interrupted PATCH: %v", err)

	s.restart(t)

	// The unfinished blob is not visible.
	wantStatus(t, s.do(t, http.MethodHead, blobPath, nil), http.StatusNotFound)

	// What was committed before the crash is intact.
	pulled, err := remote.Image(ref(t, s, repo+":before"), s.remoteOpts(t)...)
	if err != nil {
		t.Fatalf("pulling the image pushed before the crash: %v", err)
	}
	if got, want := mustDigest(t, pulled), mustDigest(t, before); got != want {
		t.Errorf("image pushed before the crash: digest %s, want %s", got, want)
	}
	if err := verifyImage(pulled); err != nil {
		t.Errorf("image pushed before the crash: %v", err)
	}
	checkCatalogConsistent(t, s, map[string][]string{repo: {"before"}})

	// The session resumes consistently or is gone.
	st := s.do(t, http.MethodGet, loc, nil)
	switch st.Status {
	case http.StatusNotFound:
		wantError(t, st, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		t.Logf("the interrupted upload session is gone after the restart")
	case http.StatusNoContent:
		off := resumeOffset(t, st)
		// Every acknowledged byte must have survived; at most what was sent
		// of the interrupted chunk may have been kept on top.
		if off < acked || off > acked+sentOfFourth {
			t.Fatalf("%s: session resumes at offset %d, want between %d (acknowledged) and %d (sent)",
				st.Request, off, acked, acked+sentOfFourth)
		}
		t.Logf("the interrupted upload session resumes at offset %d", off)
		resumed := blobStream(seed)
		io.CopyN(io.Discard, resumed, off)
		r := s.doReader(t, http.MethodPatch, loc, io.LimitReader(resumed, size-off), size-off,
			"Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, size-1))
		if !wantStatus(t, r, http.StatusAccepted) {
			t.FailNow()
		}
		r = s.do(t, http.MethodPut, withQuery(t, location(t, r), "digest", want.String()), nil)
		if !wantStatus(t, r, http.StatusCreated) {
			t.FailNow()
		}
		if got, n := fetchBlobDigest(t, s, repo, want); got != want || n != size {
			t.Fatalf("resumed blob: %s (%d bytes), want %s (%d bytes)", got, n, want, int64(size))
		}
	default:
		t.Fatalf("%s: want 204 (resumable) or 404 (gone)", st)
	}

	// The same full push, streamed in one PATCH, succeeds and reads back.
	loc = startUpload(t, s, repo)
	r := s.doReader(t, http.MethodPatch, loc, io.LimitReader(blobStream(seed), size), size,
		"Content-Type", "application/octet-stream")
	if !wantStatus(t, r, http.StatusAccepted) {
		t.FailNow()
	}
	r = s.do(t, http.MethodPut, withQuery(t, location(t, r), "digest", want.String()), nil)
	if !wantStatus(t, r, http.StatusCreated) {
		t.FailNow()
	}
	r = s.do(t, http.MethodHead, blobPath, nil)
	if wantStatus(t, r, http.StatusOK) && r.Header.Get("Content-Length") != strconv.Itoa(size) {
		t.Errorf("%s: Content-Length %s, want %d", r.Request, r.Header.Get("Content-Length"), size)
	}
	if got, n := fetchBlobDigest(t, s, repo, want); got != want || n != size {
		t.Errorf("pushed blob reads back as %s (%d bytes), want %s (%d bytes)", got, n, want, int64(size))
	}
	checkCatalogConsistent(t, s, map[string][]string{repo: {"before"}})
}

// resumeOffset reads an upload status response's Range header ("0-<last>").
func resumeOffset(t testing.TB, r response) int64 {
	t.Helper()
	rng := r.Header.Get("Range")
	last, ok := strings.CutPrefix(rng, "0-")
	n, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil {
		t.Fatalf("%s: malformed Range %q", r.Request, rng)
	}
	return n + 1
}

// checkCatalogConsistent requires the catalog to list exactly the given
// repositories, each with exactly the given tags, every one resolvable.
func checkCatalogConsistent(t testing.TB, s *server, want map[string][]string) {
	t.Helper()
	r := s.do(t, http.MethodGet, "/v2/_catalog", nil)
	if !wantStatus(t, r, http.StatusOK) {
		return
	}
	var c struct{ Repositories []string }
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	if len(c.Repositories) != len(want) {
		t.Errorf("%s: repositories %v, want %d", r.Request, c.Repositories, len(want))
	}
	for _, repo := range c.Repositories {
		wantTags, ok := want[repo]
		if !ok {
			t.Errorf("%s: unexpected repository %q", r.Request, repo)
			continue
		}
		tr := s.do(t, http.MethodGet, "/v2/"+repo+"/tags/list", nil)
		if !wantStatus(t, tr, http.StatusOK) {
			continue
		}
		var tl struct{ Tags []string }
		if err := json.Unmarshal(tr.Body, &tl); err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
		if fmt.Sprint(tl.Tags) != fmt.Sprint(wantTags) {
			t.Errorf("%s: tags %v, want %v", tr.Request, tl.Tags, wantTags)
		}
		for _, tag := range tl.Tags {
			wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/"+tag, nil,
				"Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"), http.StatusOK)
		}
	}
}
