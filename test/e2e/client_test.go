package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// ref parses an image reference on s, e.g. ref(t, s, "e2e/app:v1").
func ref(t testing.TB, s *server, r string) name.Reference {
	t.Helper()
	parsed, err := name.ParseReference(s.Registry()+"/"+r, name.Insecure)
	if err != nil {
		t.Fatalf("parse reference %q: %v", r, err)
	}
	return parsed
}

// tagRef parses a tagged reference on s.
func tagRef(t testing.TB, s *server, r string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s.Registry()+"/"+r, name.Insecure)
	if err != nil {
		t.Fatalf("parse tag %q: %v", r, err)
	}
	return tag
}

// repoRef returns a repository on s.
func repoRef(t testing.TB, s *server, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s.Registry()+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatalf("parse repository %q: %v", repo, err)
	}
	return r
}

// remoteOpts are go-containerregistry options for talking to berth with its
// login token. Retries are off: a retried 5xx would hide a server bug.
func (s *server) remoteOpts(t testing.TB, extra ...remote.Option) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(t.Context()),
		remote.WithAuth(s.authenticator()),
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 1}),
	}
	return append(opts, extra...)
}

// recorder is an http.RoundTripper that records every exchange, so tests can
// assert how a client talked to berth (e.g. that a blob was mounted, not sent).
type recorder struct {
	mu   sync.Mutex
	base http.RoundTripper
	log  []exchange
}

type exchange struct {
	Method string
	URL    *url.URL
	Status int
	Header http.Header
}

func newRecorder() *recorder { return &recorder{base: http.DefaultTransport} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.log = append(r.log, exchange{Method: req.Method, URL: req.URL, Status: resp.StatusCode, Header: resp.Header.Clone()})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

func (r *recorder) String() string {
	var b strings.Builder
	for _, e := range r.exchanges() {
		fmt.Fprintf(&b, "  %s %s -> %d\n", e.Method, e.URL.RequestURI(), e.Status)
	}
	return b.String()
}

// withQuery adds query parameters to an upload Location, which may already
// carry a query of its own.
func withQuery(t testing.TB, loc string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("bad Location %q: %v", loc, err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// location returns a response's Location header, failing when it is missing.
func location(t testing.TB, r response) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("%s: no Location header", r)
	}
	return loc
}

// startUpload opens an upload session in repo and returns its Location.
func startUpload(t testing.TB, s *server, repo string) string {
	t.Helper()
	r := s.do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
	if !wantStatus(t, r, http.StatusAccepted) {
		t.FailNow()
	}
	return location(t, r)
}

// pushBlob uploads data into repo with POST then PUT and returns its digest.
func pushBlob(t testing.TB, s *server, repo string, data []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(data)
	loc := startUpload(t, s, repo)
	r := s.do(t, http.MethodPut, withQuery(t, loc, "digest", d.String()), data,
		"Content-Type", "application/octet-stream")
	if !wantStatus(t, r, http.StatusCreated) {
		t.FailNow()
	}
	return d
}

// pushManifest PUTs a manifest and returns the response.
func pushManifest(t testing.TB, s *server, repo, reference, mediaType string, body []byte) response {
	t.Helper()
	return s.do(t, http.MethodPut, "/v2/"+repo+"/manifests/"+reference, body, "Content-Type", mediaType)
}
