package oci

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type testServer struct {
	t    *testing.T
	core *fakeCore
	h    http.Handler
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := newFakeCore()
	return &testServer{t: t, core: c, h: newHandler(c, opts)}
}

// do sends a request; headers alternate key, value.
func (s *testServer) do(method, target string, body []byte, headers ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if v := rec.Header().Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
		s.t.Fatalf("%s %s: Docker-Distribution-API-Version %q", method, target, v)
	}
	return rec
}

func expect(t *testing.T, rec *httptest.ResponseRecorder, status int, headers ...string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if got := rec.Header().Get(headers[i]); got != headers[i+1] {
			t.Fatalf("header %s = %q, want %q", headers[i], got, headers[i+1])
		}
	}
}

func TestPing(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		rec := s.do(m, "/v2/", nil)
		expect(t, rec, 200, "Content-Type", "application/json")
	}
	if rec := s.do(http.MethodGet, "/v2/", nil); rec.Body.String() != "{}" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := s.do(http.MethodGet, "/v2/foo/bar", nil)
	expect(t, rec, 404)
	if c := decodeError(t, rec.Body).Code; c != "NAME_UNKNOWN" {
		t.Fatalf("code %q", c)
	}
	rec = s.do(http.MethodPost, "/v2/foo/manifests/latest", nil)
	expect(t, rec, 405, "Allow", "GET, HEAD, PUT, DELETE")
	if c := decodeError(t, rec.Body).Code; c != "UNSUPPORTED" {
		t.Fatalf("code %q", c)
	}
}

func TestInvalidDigestInURL(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, target := range []string{
		"/v2/foo/blobs/sha256:nothex",
		"/v2/foo/blobs/notadigest",
		"/v2/foo/referrers/sha256:short",
	} {
		rec := s.do(http.MethodGet, target, nil)
		expect(t, rec, 400)
		if c := decodeError(t, rec.Body).Code; c != "DIGEST_INVALID" {
			t.Fatalf("%s: code %q", target, c)
		}
	}
	rec := s.do(http.MethodPost, "/v2/foo/blobs/uploads/?digest=sha256:zz", []byte("x"))
	expect(t, rec, 400)
	rec = s.do(http.MethodPost, "/v2/foo/blobs/uploads/?mount=bad", nil)
	expect(t, rec, 400)
}

func TestMonolithicPost(t *testing.T) {
	s := newTestServer(t, Options{})
	content := []byte("hello blob")
	d := digest.FromBytes(content)
	rec := s.do(http.MethodPost, "/v2/a/b/blobs/uploads/?digest="+d.String(), content)
	expect(t, rec, 201, "Location", "/v2/a/b/blobs/"+d.String(), "Docker-Content-Digest", d.String())

	rec = s.do(http.MethodGet, "/v2/a/b/blobs/"+d.String(), nil)
	expect(t, rec, 200,
		"Content-Type", "application/octet-stream",
		"Docker-Content-Digest", d.String(),
		"ETag", `"`+d.String()+`"`,
		"Content-Length", strconv.Itoa(len(content)))
	if !bytes.Equal(rec.Body.Bytes(), content) {
		t.Fatalf("body %q", rec.Body.String())
	}

	rec = s.do(http.MethodHead, "/v2/a/b/blobs/"+d.String(), nil)
	expect(t, rec, 200, "Content-Length", strconv.Itoa(len(content)), "Docker-Content-Digest", d.String())
	if rec.Body.Len() != 0 {
		t.Fatalf("HEAD wrote a body")
	}

	// Bad digest.
	rec = s.do(http.MethodPost, "/v2/a/b/blobs/uploads/?digest="+digest.FromString("other").String(), content)
	expect(t, rec, 400)
}

func TestBlobRanges(t *testing.T) {
	s := newTestServer(t, Options{})
	content := bytes.Repeat([]byte("0123456789"), 10)
	d := digest.FromBytes(content)
	expect(t, s.do(http.MethodPost, "/v2/r/blobs/uploads/?digest="+d.String(), content), 201)
	tests := []struct {
		rng    string
		status int
		body   []byte
		cr     string
	}{
		{"bytes=10-19", 206, content[10:20], "bytes 10-19/100"},
		{"bytes=90-", 206, content[90:], "bytes 90-99/100"},
		{"bytes=-5", 206, content[95:], "bytes 95-99/100"},
		{"bytes=50-10", 416, nil, ""},
		{"bytes=200-300", 416, nil, "bytes */100"},
	}
	for _, tt := range tests {
		rec := s.do(http.MethodGet, "/v2/r/blobs/"+d.String(), nil, "Range", tt.rng)
		expect(t, rec, tt.status)
		if tt.cr != "" && rec.Header().Get("Content-Range") != tt.cr {
			t.Fatalf("%s: Content-Range %q, want %q", tt.rng, rec.Header().Get("Content-Range"), tt.cr)
		}
		if tt.body != nil && !bytes.Equal(rec.Body.Bytes(), tt.body) {
			t.Fatalf("%s: body %q", tt.rng, rec.Body.String())
		}
	}
	// A matching ETag is not sent again.
	expect(t, s.do(http.MethodGet, "/v2/r/blobs/"+d.String(), nil, "If-None-Match", `"`+d.String()+`"`), 304)
}

func TestBlobDelete(t *testing.T) {
	s := newTestServer(t, Options{})
	d := digest.FromString("x")
	expect(t, s.do(http.MethodPost, "/v2/r/blobs/uploads/?digest="+d.String(), []byte("x")), 201)
	expect(t, s.do(http.MethodDelete, "/v2/r/blobs/"+d.String(), nil), 202)
	rec := s.do(http.MethodHead, "/v2/r/blobs/"+d.String(), nil)
	expect(t, rec, 404)
	rec = s.do(http.MethodGet, "/v2/r/blobs/"+d.String(), nil)
	expect(t, rec, 404)
	if c := decodeError(t, rec.Body).Code; c != "BLOB_UNKNOWN" {
		t.Fatalf("code %q", c)
	}
}

func TestChunkedUpload(t *testing.T) {
	s := newTestServer(t, Options{PublicURL: "https://reg.example.com/"})
	content := []byte("abcdefghijklmnopqrstuvwxyz")
	d := digest.FromBytes(content)

	rec := s.do(http.MethodPost, "/v2/my/repo/blobs/uploads/", nil)
	expect(t, rec, 202, "Range", "0-0")
	loc := rec.Header().Get("Location")
	id := rec.Header().Get("Docker-Upload-UUID")
	if id == "" || loc != "https://reg.example.com/v2/my/repo/blobs/uploads/"+id {
		t.Fatalf("Location %q, uuid %q", loc, id)
	}
	path := strings.TrimPrefix(loc, "https://reg.example.com")

	expect(t, s.do(http.MethodGet, path, nil), 204, "Range", "0-0", "Location", loc)

	// First chunk with the spec's Content-Range form.
	rec = s.do(http.MethodPatch, path, content[:10], "Content-Range", "0-9", "Content-Type", "application/octet-stream")
	expect(t, rec, 202, "Range", "0-9", "Location", loc, "Docker-Upload-UUID", id)

	// Out of order: 416, and where the upload stands.
	rec = s.do(http.MethodPatch, path, content[20:], "Content-Range", "20-25")
	expect(t, rec, 416, "Range", "0-9", "Location", loc)

	// Content-Length disagreeing with the range.
	req := httptest.NewRequest(http.MethodPatch, path, bytes.NewReader(content[10:15]))
	req.Header.Set("Content-Range", "10-19")
	rec = httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	expect(t, rec, 400)
	if c := decodeError(t, rec.Body).Code; c != "SIZE_INVALID" {
		t.Fatalf("code %q", c)
	}

	// Malformed range.
	expect(t, s.do(http.MethodPatch, path, content[10:20], "Content-Range", "ten-twenty"), 400)

	// Chunked transfer (unknown length) whose body is shorter than its range.
	req = httptest.NewRequest(http.MethodPatch, path, io.NopCloser(bytes.NewReader(content[10:15])))
	req.ContentLength = -1
	req.Header.Set("Content-Range", "10-19")
	rec = httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	expect(t, rec, 400)
	expect(t, s.do(http.MethodGet, path, nil), 204, "Range", "0-9")

	// Lenient RFC form, then a streamed chunk without a range.
	expect(t, s.do(http.MethodPatch, path, content[10:20], "Content-Range", "bytes 10-19/*"), 202, "Range", "0-19")
	expect(t, s.do(http.MethodPatch, path, content[20:23]), 202, "Range", "0-22")

	// Final chunk on the PUT.
	rec = s.do(http.MethodPut, path+"?digest="+d.String(), content[23:], "Content-Range", "23-25")
	expect(t, rec, 201, "Location", "https://reg.example.com/v2/my/repo/blobs/"+d.String(), "Docker-Content-Digest", d.String())

	// The session is gone.
	rec = s.do(http.MethodGet, path, nil)
	expect(t, rec, 404)
	if c := decodeError(t, rec.Body).Code; c != "BLOB_UPLOAD_UNKNOWN" {
		t.Fatalf("code %q", c)
	}
}

func TestPostPutAndCancel(t *testing.T) {
	s := newTestServer(t, Options{})
	content := []byte("post then put")
	d := digest.FromBytes(content)
	rec := s.do(http.MethodPost, "/v2/r/blobs/uploads", nil)
	expect(t, rec, 202)
	loc := rec.Header().Get("Location")
	// Missing digest.
	expect(t, s.do(http.MethodPut, loc, content), 400)
	expect(t, s.do(http.MethodPut, loc+"?digest="+d.String(), content), 201, "Docker-Content-Digest", d.String())

	// Empty PUT completes what PATCH sent; a wrong digest is refused.
	rec = s.do(http.MethodPost, "/v2/r/blobs/uploads/", nil)
	loc = rec.Header().Get("Location")
	expect(t, s.do(http.MethodPatch, loc, content), 202)
	expect(t, s.do(http.MethodPut, loc+"?digest="+digest.FromString("no").String(), nil), 400)

	rec = s.do(http.MethodPost, "/v2/r/blobs/uploads/", nil)
	loc = rec.Header().Get("Location")
	expect(t, s.do(http.MethodDelete, loc, nil), 204)
	expect(t, s.do(http.MethodDelete, loc, nil), 404)
}

// TestPutUploadErrors covers the failures of the PUT that completes an
// upload: each is refused with its OCI code and the session survives, and a
// misplaced final chunk (416) says where the upload stands, as a PATCH does.
func TestPutUploadErrors(t *testing.T) {
	s := newTestServer(t, Options{})
	content := []byte("abcdefghijklmnopqrstuvwxyz")
	d := digest.FromBytes(content)
	rec := s.do(http.MethodPost, "/v2/r/blobs/uploads/", nil)
	expect(t, rec, 202)
	loc := rec.Header().Get("Location")
	expect(t, s.do(http.MethodPatch, loc, content[:10], "Content-Range", "0-9"), 202, "Range", "0-9")

	for _, tc := range []struct {
		name, query, contentRange string
		status                    int
		code                      string
	}{
		{"no digest", "", "10-25", 400, "DIGEST_INVALID"},
		{"malformed digest", "?digest=sha256:nothex", "10-25", 400, "DIGEST_INVALID"},
		{"malformed range", "?digest=" + d.String(), "ten-25", 400, "BLOB_UPLOAD_INVALID"},
		{"misplaced final chunk", "?digest=" + d.String(), "20-35", 416, "BLOB_UPLOAD_INVALID"},
	} {
		rec := s.do(http.MethodPut, loc+tc.query, content[10:], "Content-Range", tc.contentRange)
		if rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d; body %s", tc.name, rec.Code, tc.status, rec.Body)
		}
		if c := decodeError(t, rec.Body).Code; c != tc.code {
			t.Fatalf("%s: code %q, want %q", tc.name, c, tc.code)
		}
		if tc.status == http.StatusRequestedRangeNotSatisfiable {
			expect(t, rec, tc.status, "Range", "0-9", "Location", loc)
		}
		expect(t, s.do(http.MethodGet, loc, nil), 204, "Range", "0-9")
	}
	expect(t, s.do(http.MethodPut, loc+"?digest="+d.String(), content[10:], "Content-Range", "10-25"), 201, "Docker-Content-Digest", d.String())
}

func TestMount(t *testing.T) {
	content := []byte("shared layer")
	d := digest.FromBytes(content)
	tests := []struct {
		name      string
		authorize func(*http.Request, Access) error
		query     string
		status    int
	}{
		{"from source", nil, "&from=src", 201},
		{"anonymous", nil, "", 201},
		{"missing source falls back", nil, "&from=nowhere", 202},
		{"anonymous with access control mounts from a readable source", func(*http.Request, Access) error { return nil }, "", 201},
		{"anonymous with no readable source falls back", func(_ *http.Request, a Access) error {
			if slices.Equal(a.Actions, []string{ActionPull}) {
				return Denied("no")
			}
			return nil
		}, "", 202},
		{"allowed source with access control", func(*http.Request, Access) error { return nil }, "&from=src", 201},
		{"denied source falls back", func(_ *http.Request, a Access) error {
			if a.Repository == "src" && slices.Equal(a.Actions, []string{ActionPull}) {
				return Denied("no")
			}
			return nil
		}, "&from=src", 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Options{Authorize: callerOf(tt.authorize)})
			expect(t, s.do(http.MethodPost, "/v2/src/blobs/uploads/?digest="+d.String(), content), 201)
			rec := s.do(http.MethodPost, "/v2/dst/blobs/uploads/?mount="+d.String()+tt.query, nil)
			expect(t, rec, tt.status)
			if tt.status == 201 {
				expect(t, rec, 201, "Location", "/v2/dst/blobs/"+d.String(), "Docker-Content-Digest", d.String())
				expect(t, s.do(http.MethodGet, "/v2/dst/blobs/"+d.String(), nil), 200)
			} else if !strings.HasPrefix(rec.Header().Get("Location"), "/v2/dst/blobs/uploads/") {
				t.Fatalf("fallback Location %q", rec.Header().Get("Location"))
			}
		})
	}
}

func TestManifests(t *testing.T) {
	s := newTestServer(t, Options{})
	subject := digest.FromString("subject")
	man := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + subject.String() + `","size":1}}`)
	d := digest.FromBytes(man)
	mt := ocispec.MediaTypeImageManifest

	rec := s.do(http.MethodPut, "/v2/a/b/manifests/"+d.String()+"?tag=v1&tag=v2&tag=v1", man, "Content-Type", mt)
	expect(t, rec, 201, "Location", "/v2/a/b/manifests/"+d.String(), "Docker-Content-Digest", d.String(), "OCI-Subject", subject.String())
	if got := rec.Header().Values("OCI-Tag"); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Fatalf("OCI-Tag %q", got)
	}

	for _, ref := range []string{"v1", "v2", d.String()} {
		rec = s.do(http.MethodGet, "/v2/a/b/manifests/"+ref, nil)
		expect(t, rec, 200, "Content-Type", mt, "Docker-Content-Digest", d.String(), "Content-Length", strconv.Itoa(len(man)), "ETag", `"`+d.String()+`"`)
		if !bytes.Equal(rec.Body.Bytes(), man) {
			t.Fatalf("body differs")
		}
		rec = s.do(http.MethodHead, "/v2/a/b/manifests/"+ref, nil)
		expect(t, rec, 200, "Content-Type", mt, "Content-Length", strconv.Itoa(len(man)))
		if rec.Body.Len() != 0 {
			t.Fatalf("HEAD wrote a body")
		}
	}
	expect(t, s.do(http.MethodGet, "/v2/a/b/manifests/v1", nil, "If-None-Match", `"`+d.String()+`"`), 304)

	// Digest mismatch.
	rec = s.do(http.MethodPut, "/v2/a/b/manifests/"+digest.FromString("x").String(), man, "Content-Type", mt)
	expect(t, rec, 400)
	if c := decodeError(t, rec.Body).Code; c != "DIGEST_INVALID" {
		t.Fatalf("code %q", c)
	}

	// Tag delete leaves the manifest; digest delete removes it.
	expect(t, s.do(http.MethodDelete, "/v2/a/b/manifests/v1", nil), 202)
	expect(t, s.do(http.MethodHead, "/v2/a/b/manifests/v1", nil), 404)
	expect(t, s.do(http.MethodHead, "/v2/a/b/manifests/v2", nil), 200)
	expect(t, s.do(http.MethodDelete, "/v2/a/b/manifests/"+d.String(), nil), 202)
	rec = s.do(http.MethodGet, "/v2/a/b/manifests/"+d.String(), nil)
	expect(t, rec, 404)
	if c := decodeError(t, rec.Body).Code; c != "MANIFEST_UNKNOWN" {
		t.Fatalf("code %q", c)
	}
}

func TestManifestTooLarge(t *testing.T) {
	s := newTestServer(t, Options{MaxManifestBytes: 16})
	big := []byte(`{"schemaVersion":2,"padding":"xxxxxxxxxxxxxxxx"}`)
	// Declared length over the limit.
	rec := s.do(http.MethodPut, "/v2/r/manifests/latest", big)
	expect(t, rec, 413)
	if c := decodeError(t, rec.Body).Code; c != "MANIFEST_INVALID" {
		t.Fatalf("code %q", c)
	}
	// Unknown length (chunked) over the limit.
	req := httptest.NewRequest(http.MethodPut, "/v2/r/manifests/latest", io.NopCloser(bytes.NewReader(big)))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	expect(t, rec, 413)
	// At the limit is fine.
	expect(t, s.do(http.MethodPut, "/v2/r/manifests/latest", []byte(`{"a":"12345678"}`)), 201)
}

func TestTagsList(t *testing.T) {
	s := newTestServer(t, Options{})
	// Unknown repository.
	expect(t, s.do(http.MethodGet, "/v2/r/tags/list", nil), 404)
	for _, tag := range []string{"c", "a", "b", "d"} {
		expect(t, s.do(http.MethodPut, "/v2/r/manifests/"+tag, []byte(`{"t":"`+tag+`"}`)), 201)
	}
	type tagList struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	tests := []struct {
		query string
		tags  []string
		link  string
	}{
		{"", []string{"a", "b", "c", "d"}, ""},
		{"?n=2", []string{"a", "b"}, `</v2/r/tags/list?last=b&n=2>; rel="next"`},
		{"?n=2&last=b", []string{"c", "d"}, ""},
		{"?last=a", []string{"b", "c", "d"}, ""},
		{"?n=4", []string{"a", "b", "c", "d"}, ""},
		{"?n=0", []string{}, ""},
	}
	for _, tt := range tests {
		rec := s.do(http.MethodGet, "/v2/r/tags/list"+tt.query, nil)
		expect(t, rec, 200, "Content-Type", "application/json", "Link", tt.link)
		var got tagList
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != "r" || !slices.Equal(got.Tags, tt.tags) || got.Tags == nil {
			t.Fatalf("%s: got %+v, want %v", tt.query, got, tt.tags)
		}
	}
	if s.core.lastTagsN != 0 {
		t.Fatalf("n=0 should ask the core for no tags, asked for %d", s.core.lastTagsN)
	}
	expect(t, s.do(http.MethodGet, "/v2/r/tags/list?n=-1", nil), 400)
	expect(t, s.do(http.MethodGet, "/v2/r/tags/list?n=x", nil), 400)
}

func TestCatalog(t *testing.T) {
	var access []Access
	s := newTestServer(t, Options{Authorize: callerOf(func(_ *http.Request, a Access) error {
		access = append(access, a)
		return nil
	})})
	for _, r := range []string{"b", "a/x", "c"} {
		expect(t, s.do(http.MethodPost, "/v2/"+r+"/blobs/uploads/", nil), 202)
	}
	access = nil
	rec := s.do(http.MethodGet, "/v2/_catalog?n=2", nil)
	expect(t, rec, 200, "Link", `</v2/_catalog?last=b&n=2>; rel="next"`)
	if got := rec.Body.String(); got != `{"repositories":["a/x","b"]}` {
		t.Fatalf("body %s", got)
	}
	if len(access) != 1 || access[0].Repository != "" || !slices.Equal(access[0].Actions, []string{ActionCatalog}) {
		t.Fatalf("access %+v", access)
	}
	rec = s.do(http.MethodGet, "/v2/_catalog?last=b", nil)
	expect(t, rec, 200, "Link", "")
	if got := rec.Body.String(); got != `{"repositories":["c"]}` {
		t.Fatalf("body %s", got)
	}
}

func TestReferrers(t *testing.T) {
	s := newTestServer(t, Options{})
	subject := digest.FromString("subject")
	decode := func(rec *httptest.ResponseRecorder) ocispec.Index {
		t.Helper()
		var idx ocispec.Index
		if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
			t.Fatal(err)
		}
		if idx.SchemaVersion != 2 || idx.MediaType != ocispec.MediaTypeImageIndex || idx.Manifests == nil {
			t.Fatalf("not an index: %s", rec.Body.String())
		}
		return idx
	}
	// Unknown repository: an empty index, not 404.
	rec := s.do(http.MethodGet, "/v2/new/repo/referrers/"+subject.String(), nil)
	expect(t, rec, 200, "Content-Type", ocispec.MediaTypeImageIndex)
	if idx := decode(rec); len(idx.Manifests) != 0 {
		t.Fatalf("manifests %v", idx.Manifests)
	}

	man := []byte(`{"subject":{"digest":"` + subject.String() + `"}}`)
	expect(t, s.do(http.MethodPut, "/v2/new/repo/manifests/x", man, "Content-Type", ocispec.MediaTypeImageManifest), 201)
	rec = s.do(http.MethodGet, "/v2/new/repo/referrers/"+subject.String(), nil)
	expect(t, rec, 200, "OCI-Filters-Applied", "")
	if idx := decode(rec); len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digest.FromBytes(man) {
		t.Fatalf("manifests %v", idx.Manifests)
	}
	rec = s.do(http.MethodGet, "/v2/new/repo/referrers/"+subject.String()+"?artifactType=application/x-none", nil)
	expect(t, rec, 200, "OCI-Filters-Applied", "artifactType")
	if idx := decode(rec); len(idx.Manifests) != 0 {
		t.Fatalf("filter ignored: %v", idx.Manifests)
	}
}

func TestAuthorizeAccess(t *testing.T) {
	d := digest.FromString("x").String()
	tests := []struct {
		method, target string
		want           []Access
	}{
		{http.MethodGet, "/v2/", []Access{{}}},
		{http.MethodGet, "/v2/nope", []Access{{}}},
		{http.MethodGet, "/v2/a/b/tags/list", []Access{{"a/b", []string{ActionPull}, false}}},
		{http.MethodHead, "/v2/r/manifests/t", []Access{{"r", []string{ActionPull}, false}}},
		{http.MethodPut, "/v2/r/manifests/t", []Access{{"r", []string{ActionPush}, false}}},
		{http.MethodDelete, "/v2/r/manifests/t", []Access{{"r", []string{ActionDelete}, false}}},
		{http.MethodGet, "/v2/r/blobs/" + d, []Access{{"r", []string{ActionPull}, false}}},
		{http.MethodDelete, "/v2/r/blobs/" + d, []Access{{"r", []string{ActionDelete}, false}}},
		{http.MethodPost, "/v2/r/blobs/uploads/", []Access{{"r", []string{ActionPush}, false}}},
		{http.MethodPost, "/v2/r/blobs/uploads/?mount=" + d + "&from=o", []Access{{"r", []string{ActionPush}, false}, {"o", []string{ActionPull}, true}}},
		// Mounting from the target itself still reads a layer there.
		{http.MethodPost, "/v2/r/blobs/uploads/?mount=" + d + "&from=r", []Access{{"r", []string{ActionPush}, false}, {"r", []string{ActionPull}, true}}},
		{http.MethodPatch, "/v2/r/blobs/uploads/u", []Access{{"r", []string{ActionPush}, false}}},
		{http.MethodGet, "/v2/r/referrers/" + d, []Access{{"r", []string{ActionPull}, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			var got []Access
			s := newTestServer(t, Options{Authorize: callerOf(func(_ *http.Request, a Access) error {
				got = append(got, a)
				return nil
			})})
			s.do(tt.method, tt.target, nil)
			if len(got) != len(tt.want) {
				t.Fatalf("access %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Repository != tt.want[i].Repository || !slices.Equal(got[i].Actions, tt.want[i].Actions) {
					t.Fatalf("access %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func TestBaseRequiresAuth(t *testing.T) {
	challenge := `Basic realm="https://reg/",service="ecr.amazonaws.com"`
	s := newTestServer(t, Options{Authorize: callerOf(func(r *http.Request, _ Access) error {
		if r.Header.Get("Authorization") == "" {
			return Unauthorized(challenge, "authentication required")
		}
		return nil
	})})
	expect(t, s.do(http.MethodGet, "/v2/", nil), 401, "WWW-Authenticate", challenge)
	expect(t, s.do(http.MethodGet, "/v2/", nil, "Authorization", "Basic eDp5"), 200)
}

// FuzzHandler drives the whole adapter with arbitrary paths, queries and
// range headers: it must answer every request without panicking.
func FuzzHandler(f *testing.F) {
	d := digest.FromString("x").String()
	f.Add(uint8(0), "/v2/a/blobs/"+d, "", "bytes=0-0", []byte(nil))
	f.Add(uint8(4), "/v2/a/blobs/uploads/", "digest="+d, "", []byte("x"))
	f.Add(uint8(3), "/v2/a/blobs/uploads/upload-1", "", "0-0", []byte("x"))
	f.Add(uint8(2), "/v2/a/manifests/t", "tag=a&tag=b", "", []byte(`{}`))
	f.Add(uint8(0), "/v2/a/tags/list", "n=1&last=", "", []byte(nil))
	f.Add(uint8(0), "/v2/a/referrers/"+d, "artifactType=x", "", []byte(nil))
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodPost, http.MethodDelete}
	f.Fuzz(func(t *testing.T, m uint8, path, query, rng string, body []byte) {
		s := newTestServer(t, Options{})
		// Seed a session so upload routes reach the core.
		if _, err := s.core.StartUpload(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", bytes.NewReader(body))
		req.Method = methods[int(m)%len(methods)]
		req.URL.Path = path
		req.URL.RawQuery = query
		req.Header.Set("Range", rng)
		req.Header.Set("Content-Range", rng)
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// callerOf adapts an error-only authorization check to the Authorize hook;
// the caller it reports is anonymous. nil stays nil (no access control).
func callerOf(f func(*http.Request, Access) error) func(*http.Request, Access) (Caller, error) {
	if f == nil {
		return nil
	}
	return func(r *http.Request, a Access) (Caller, error) { return Caller{}, f(r, a) }
}
