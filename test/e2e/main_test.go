package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// berthBin is the berth binary every test starts; TestMain builds it once.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// berth is built with -race when the test binary is (or BERTH_E2E_RACE
	// says so), so that races in the server under real client traffic fail
	// the suite.
	race := harness.RaceEnabled
	if v := os.Getenv("BERTH_E2E_RACE"); v != "" {
		var err error
		if race, err = strconv.ParseBool(v); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: BERTH_E2E_RACE=%q: %v\n", v, err)
			return 1
		}
	}
	bin, cleanup, err := harness.BerthBinary("BERTH_E2E_BIN", race)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer cleanup()
	berthBin = bin
	return m.Run()
}

// server is a berth process under test, logged in as an ECR client.
type server struct {
	*harness.Server

	mu    sync.Mutex
	token string // ECR login token, refreshed on every start
}

type serverConfig struct {
	createOnPush bool
	extraArgs    []string
}

type serverOption func(*serverConfig)

// withoutCreateOnPush starts berth without --create-on-push.
func withoutCreateOnPush() serverOption { return func(c *serverConfig) { c.createOnPush = false } }

// withArgs appends flags to `berth serve`.
func withArgs(args ...string) serverOption {
	return func(c *serverConfig) { c.extraArgs = append(c.extraArgs, args...) }
}

// startServer starts berth (see harness.StartServer) and logs in: an ECR
// login token for /v2.
func startServer(t testing.TB, opts ...serverOption) *server {
	t.Helper()
	cfg := serverConfig{createOnPush: true}
	for _, o := range opts {
		o(&cfg)
	}
	var args []string
	if cfg.createOnPush {
		args = append(args, "--create-on-push")
	}
	args = append(args, cfg.extraArgs...)
	s := &server{Server: harness.StartServer(t, harness.Options{Bin: berthBin, Args: args})}
	s.login(t)
	return s
}

// restart starts berth again on the same data directory and, if it is still
// free, the same address, and logs in again.
func (s *server) restart(t testing.TB) {
	t.Helper()
	s.Restart(t)
	s.login(t)
}

// URL returns the absolute URL of path on this server.
func (s *server) URL(path string) string { return s.Server.URL() + path }

// Registry is the registry host as image references spell it.
func (s *server) Registry() string { return s.Addr() }

// httpClient is used for raw requests. It never follows redirects, so tests
// see exactly what berth answered.
var httpClient = &http.Client{
	// A backstop against a hung server, not an assertion on speed.
	Timeout: 10 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// response is a fully read HTTP response.
type response struct {
	Request string // "METHOD path", for messages
	Status  int
	Header  http.Header
	Body    []byte
}

func (r response) String() string {
	body := r.Body
	if len(body) > 2048 {
		body = append(body[:2048:2048], "..."...)
	}
	return fmt.Sprintf("%s -> %d %s", r.Request, r.Status, bytes.TrimSpace(body))
}

// maxResponseBody bounds what a test reads from berth.
const maxResponseBody = 64 << 20

// do sends a request to berth. hdr holds header name/value pairs.
func (s *server) do(t testing.TB, method, path string, body []byte, hdr ...string) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return s.doReader(t, method, path, r, int64(len(body)), hdr...)
}

// doReader sends a request whose body is streamed from r; size is its length
// or -1 for chunked transfer encoding.
func (s *server) doReader(t testing.TB, method, path string, r io.Reader, size int64, hdr ...string) response {
	t.Helper()
	resp, err := s.send(context.Background(), method, path, r, size, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// send is do without the test plumbing, for requests expected to fail.
func (s *server) send(ctx context.Context, method, path string, r io.Reader, size int64, hdr ...string) (response, error) {
	if len(hdr)%2 != 0 {
		return response{}, fmt.Errorf("odd header list %q", hdr)
	}
	u := path
	if !strings.HasPrefix(path, "http://") {
		u = s.URL(path)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return response{}, err
	}
	if r != nil {
		req.ContentLength = size
	}
	req.SetBasicAuth(loginUser, s.password())
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return response{}, fmt.Errorf("reading response: %w", err)
	}
	return response{Request: method + " " + path, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// ociError is one entry of an OCI error response.
type ociError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

func parseOCIErrors(body []byte) ([]ociError, error) {
	var v struct {
		Errors []ociError `json:"errors"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("not an OCI error body: %w", err)
	}
	if len(v.Errors) == 0 {
		return nil, errors.New("OCI error body has no errors")
	}
	return v.Errors, nil
}

// wantStatus checks a response's status.
func wantStatus(t testing.TB, r response, status int) bool {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d", r, r.Status, status)
		return false
	}
	return true
}

// wantError checks status and, for requests with a response body, that the
// first OCI error carries code.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	ok := r.Status == status
	got := "(no body)"
	if !strings.HasPrefix(r.Request, http.MethodHead+" ") {
		errs, err := parseOCIErrors(r.Body)
		switch {
		case err != nil:
			ok, got = false, err.Error()
		default:
			got = errs[0].Code
			ok = ok && got == code
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: error Content-Type %q, want application/json", r.Request, ct)
		}
	}
	if !ok {
		t.Errorf("%s\n  want: %d %s\n  got:  %d %s\n  body: %s", r.Request, status, code, r.Status, got, harness.Truncate(r.Body, 1024))
	}
}
