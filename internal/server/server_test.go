package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/meta"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines decodes the JSON log lines whose msg is msg.
func (s *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.PublicURL = "http://127.0.0.1:5000"
	cfg.ShutdownTimeout = time.Minute
	return cfg
}

func newServer(t *testing.T, cfg config.Config) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(context.Background(), cfg, log, WithAnnounce(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// start serves s on a loopback port and returns its base URL and a stop
// function that cancels the server and returns Serve's result.
func start(t *testing.T, s *Server) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	scheme := "http://"
	if s.tls != nil {
		scheme = "https://"
	}
	return scheme + ln.Addr().String(), stop
}

func do(t *testing.T, method, url string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestRoutes(t *testing.T) {
	cfg := testConfig(t)
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	tests := []struct {
		method, path string
		wantStatus   int
		wantBody     string
		wantHeader   [2]string
	}{
		{"GET", "/healthz", 200, "ok\n", [2]string{"Cache-Control", "no-store"}},
		{"HEAD", "/healthz", 200, "", [2]string{}},
		{"POST", "/healthz", 405, "", [2]string{"Allow", "GET, HEAD"}},
		// /v2 needs a login token; docker login probes /v2/ for the challenge.
		{"GET", "/v2/", 401, "UNAUTHORIZED", [2]string{"WWW-Authenticate", `Basic realm="http://127.0.0.1:5000/",service="ecr.amazonaws.com"`}},
		{"GET", "/v2", 401, "UNAUTHORIZED", [2]string{"WWW-Authenticate", `Basic realm="http://127.0.0.1:5000/",service="ecr.amazonaws.com"`}},
		{"GET", "/", 404, "", [2]string{}},
		{"GET", "/v2x", 404, "", [2]string{}},
		{"GET", "/debug/pprof/", 404, "", [2]string{}},
		{"GET", "/metrics", 200, "berth_http_requests_total", [2]string{}},
	}
	for _, tt := range tests {
		resp, body := do(t, tt.method, base+tt.path, nil, nil)
		if resp.StatusCode != tt.wantStatus {
			t.Errorf("%s %s: status %d, want %d (body %q)", tt.method, tt.path, resp.StatusCode, tt.wantStatus, body)
		}
		if !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s %s: body %q, want it to contain %q", tt.method, tt.path, body, tt.wantBody)
		}
		if k := tt.wantHeader[0]; k != "" && resp.Header.Get(k) != tt.wantHeader[1] {
			t.Errorf("%s %s: %s = %q, want %q", tt.method, tt.path, k, resp.Header.Get(k), tt.wantHeader[1])
		}
	}
}

func TestPprofWhenEnabled(t *testing.T) {
	cfg := testConfig(t)
	cfg.DebugPprof = true
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	resp, body := do(t, "GET", base+"/debug/pprof/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/: status %d, body %.100q", resp.StatusCode, body)
	}
}

func TestHealthzStates(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	t.Cleanup(func() { _ = s.Close() })
	for _, tt := range []struct {
		state int32
		want  int
	}{{stateStarting, 503}, {stateServing, 200}, {stateDraining, 503}} {
		s.state.Store(tt.state)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
		if w.Code != tt.want {
			t.Errorf("state %d: /healthz status %d, want %d", tt.state, w.Code, tt.want)
		}
	}
}

func TestMetricsExposed(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	s.ecr = readingECR(s.ecr)
	base, _ := start(t, s)
	do(t, "GET", base+"/v2/", nil, nil)
	do(t, "POST", base+"/", strings.NewReader("{}"), nil)
	_, body := do(t, "GET", base+"/metrics", nil, nil)
	for _, want := range []string{
		`berth_http_requests_total{method="GET",route="base",status="401"} 1`,
		`berth_http_requests_total{method="POST",route="ecr",status="400"} 1`,
		`berth_http_request_duration_seconds_bucket{method="GET",route="base",le="+Inf"} 1`,
		`berth_http_request_bytes_total{route="ecr"} 2`,
		`berth_http_response_bytes_total{route="base"} 63`,
		"berth_uploads_in_flight 0",
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRequestID(t *testing.T) {
	s, logs := newServer(t, testConfig(t))
	base, _ := start(t, s)
	tests := []struct {
		name, sent string
		honoured   bool
	}{
		{"sane", "abc-123_X.y:z", true},
		{"uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"missing", "", false},
		{"too long", strings.Repeat("a", maxRequestIDLen+1), false},
		{"bad characters", "abc def", false},
		{"injection", "x\",\"level\":\"ERROR", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.sent != "" {
				h.Set(requestIDHeader, tt.sent)
			}
			resp, _ := do(t, "GET", base+"/v2/", nil, h)
			got := resp.Header.Get(requestIDHeader)
			if tt.honoured && got != tt.sent {
				t.Errorf("request id %q, want the client's %q", got, tt.sent)
			}
			if !tt.honoured && (got == tt.sent || !validRequestID(got) || seen[got]) {
				t.Errorf("request id %q, want a fresh generated one", got)
			}
			seen[got] = true
			found := false
			for _, l := range logs.lines(t, "request") {
				if l["request_id"] == got {
					found = true
				}
			}
			if !found {
				t.Errorf("no access log line with request_id %q in:\n%s", got, logs)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	s, logs := newServer(t, testConfig(t))
	s.ecr = readingECR(s.ecr)
	base, _ := start(t, s)
	const secret = "Basic c2VjcmV0LXBhc3N3b3Jk"
	h := http.Header{"Authorization": {secret}, "X-Request-Id": {"log-test"}}
	do(t, "POST", base+"/", strings.NewReader(`{"a":1}`), h)
	if strings.Contains(logs.String(), "c2VjcmV0") {
		t.Fatalf("log contains the Authorization header:\n%s", logs)
	}
	var line map[string]any
	for _, l := range logs.lines(t, "request") {
		if l["request_id"] == "log-test" {
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no access log line:\n%s", logs)
	}
	want := map[string]any{"level": "INFO", "method": "POST", "route": "ecr", "path": "/", "status": 400.0, "bytes_in": 7.0}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access log %s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"bytes_out", "duration_us", "remote"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log lacks %s", k)
		}
	}
	// Probes log at debug so they do not drown the log.
	do(t, "GET", base+"/healthz", nil, http.Header{"X-Request-Id": {"probe"}})
	for _, l := range logs.lines(t, "request") {
		if l["request_id"] == "probe" && l["level"] != "DEBUG" {
			t.Errorf("healthz logged at %v, want DEBUG", l["level"])
		}
	}
}

// readingECR reads the request body before h answers, as the real ECR
// adapter will; request bytes count what a handler reads.
func readingECR(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.ServeHTTP(w, r)
	})
}

func TestAWSJSONUnknownTarget(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	base, _ := start(t, s)
	h := http.Header{"X-Amz-Target": {"DynamoDB_20120810.DescribeRepositories"}, "X-Request-Id": {"ecr-1"}}
	resp, body := do(t, "POST", base+"/", strings.NewReader("{}"), h)
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Amzn-Errortype"); got != "UnknownOperationException" {
		t.Errorf("X-Amzn-Errortype = %q", got)
	}
	if got := resp.Header.Get("X-Amzn-RequestId"); got != "ecr-1" {
		t.Errorf("X-Amzn-RequestId = %q, want ecr-1", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if e["__type"] != "UnknownOperationException" || !strings.Contains(e["message"], "DescribeRepositories") || len(e) != 2 {
		t.Errorf("body = %q", body)
	}
}

func TestRecovery(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantBody           string
	}{
		{"oci", "GET", "/v2/", `{"errors":[{"code":"UNKNOWN","message":"internal server error"}]}`},
		{"ecr", "POST", "/", `{"__type":"ServerException","message":"internal server error"}`},
		{"other", "GET", "/healthz", "internal server error\n"},
	}
	s, logs := newServer(t, testConfig(t))
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	s.v2, s.ecr, s.health = boom, boom, boom
	base, _ := start(t, s)
	for _, tt := range tests {
		resp, body := do(t, tt.method, base+tt.path, nil, nil)
		if resp.StatusCode != 500 || body != tt.wantBody {
			t.Errorf("%s: got %d %q, want 500 %q", tt.name, resp.StatusCode, body, tt.wantBody)
		}
	}
	panics := logs.lines(t, "panic serving request")
	if len(panics) != len(tests) {
		t.Fatalf("%d panic log lines, want %d:\n%s", len(panics), len(tests), logs)
	}
	if panics[0]["panic"] != "boom" || !strings.Contains(panics[0]["stack"].(string), "server_test.go") {
		t.Errorf("panic log line = %v", panics[0])
	}
	if _, body := do(t, "GET", base+"/metrics", nil, nil); !strings.Contains(body, `route="base",status="500"`) {
		t.Errorf("panic not counted as a 500")
	}
}

// TestRecoveryQueryAPI: a panic under IAM/STS answers in the Query
// protocol's XML error shape, not the JSON protocol's.
func TestRecoveryQueryAPI(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	s.iam = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	base, _ := start(t, s)
	resp, body := do(t, "POST", base+"/", strings.NewReader("Action=ListUsers&Version=2010-05-08"), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"X-Request-Id": {"req-1"},
	})
	want := xml.Header + `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Receiver</Type><Code>ServiceFailure</Code>` +
		`<Message>An internal error occurred. Request ID: req-1</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
	if resp.StatusCode != 500 || body != want || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("got %d %q (%s), want 500 %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), want)
	}
	var doc struct {
		Error struct{ Code string }
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil || doc.Error.Code != "ServiceFailure" {
		t.Fatalf("unmarshal: %v, %+v", err, doc)
	}
}

func TestPanicAfterHeadersAbortsResponse(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	s.v2 = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic("boom")
	})
	base, _ := start(t, s)
	resp, err := http.Get(base + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading a response whose handler panicked succeeded; want a broken response")
	}
}

func TestUploadsInFlight(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	entered, release := make(chan struct{}), make(chan struct{})
	s.v2 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(entered)
		<-release
		w.WriteHeader(http.StatusAccepted)
	})
	base, _ := start(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(base+"/v2/foo/bar/blobs/uploads/", "application/octet-stream", strings.NewReader("data"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	if got := gauge(t, s, "berth_uploads_in_flight"); got != 1 {
		t.Errorf("uploads in flight during upload = %v, want 1", got)
	}
	close(release)
	<-done
	if got := gauge(t, s, "berth_uploads_in_flight"); got != 0 {
		t.Errorf("uploads in flight after upload = %v, want 0", got)
	}
}

func gauge(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	mfs, err := s.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestIsUpload(t *testing.T) {
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/v2/foo/blobs/uploads/", true},
		{"POST", "/v2/foo/blobs/uploads", true},
		{"PATCH", "/v2/foo/bar/blobs/uploads/0f8fad5b", true},
		{"PUT", "/v2/foo/blobs/uploads/0f8fad5b", true},
		{"GET", "/v2/foo/blobs/uploads/0f8fad5b", false},
		{"DELETE", "/v2/foo/blobs/uploads/0f8fad5b", false},
		{"PUT", "/v2/foo/blobs/uploads/manifests/latest", false}, // manifest of repo foo/blobs/uploads
		{"PUT", "/v2/foo/manifests/latest", false},
		{"GET", "/v2/foo/blobs/sha256:abc", false},
		{"POST", "/", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		route, _ := (&Server{}).route(r)
		if got := isUpload(route, tt.method); got != tt.want {
			t.Errorf("isUpload(%s %s) (route %q) = %v, want %v", tt.method, tt.path, route, got, tt.want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	s, logs := newServer(t, testConfig(t))
	spy := &closeSpy{Store: s.meta, inflight: &s.inflight}
	s.meta = spy
	entered, release := make(chan struct{}), make(chan struct{})
	var finished bool // written by the handler before it returns, read after Serve returns
	s.ecr = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
		finished = true
	})
	base, stop := start(t, s)

	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/", "application/json", nil)
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		results <- result{resp.StatusCode, string(b), err}
	}()
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for s.state.Load() != stateDraining {
		time.Sleep(time.Millisecond) // wait for the shutdown to begin
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/healthz while draining: %d, want 503", w.Code)
	}

	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !finished {
		t.Error("Serve returned before the in-flight request finished")
	}
	r := <-results
	if r.err != nil || r.status != 200 || r.body != "done" {
		t.Errorf("in-flight request: %d %q %v, want 200 \"done\"", r.status, r.body, r.err)
	}
	if !spy.closed {
		t.Error("metadata store still open after Serve returned")
	}
	if len(logs.lines(t, "stopped")) != 1 {
		t.Errorf("no \"stopped\" log line")
	}
}

// closeSpy records that the metadata store was closed.
type closeSpy struct {
	meta.Store
	closed          bool
	handlersAtClose int64
	inflight        *atomic.Int64
}

func (c *closeSpy) Close() error {
	c.closed = true
	c.handlersAtClose = c.inflight.Load()
	return c.Store.Close()
}

func TestShutdownTimeoutCancelsRequests(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownTimeout = 50 * time.Millisecond
	s, logs := newServer(t, cfg)
	spy := &closeSpy{Store: s.meta, inflight: &s.inflight}
	s.meta = spy
	entered := make(chan struct{})
	var ctxErr error // written by the handler, read after Serve returns
	s.ecr = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		ctxErr = r.Context().Err()
	})
	base, stop := start(t, s)
	go func() {
		if resp, err := http.Post(base+"/", "application/json", nil); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if spy.handlersAtClose != 0 {
		t.Errorf("stores closed while %d handlers still ran", spy.handlersAtClose)
	}
	if !errors.Is(ctxErr, context.Canceled) {
		t.Errorf("stuck request's context error = %v, want context.Canceled", ctxErr)
	}
	if len(logs.lines(t, "in-flight requests did not finish in time; closing their connections")) != 1 {
		t.Errorf("no warning about the forced close:\n%s", logs)
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t)
	cfg.Listen = ln.Addr().String() // taken
	s, _ := newServer(t, cfg)
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a taken address: %v, want a listen error", err)
	}
}

func TestNewErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*config.Config)
		wantErr string
	}{
		{"invalid config", func(c *config.Config) { c.LogLevel = "loud" }, "config: log-level"},
		{"data dir is a file", func(c *config.Config) { c.DataDir = file }, "create data dir"},
		{"missing certificate", func(c *config.Config) { c.TLSCert, c.TLSKey = "/nonexistent.pem", "/nonexistent.key" }, "load TLS certificate"},
	}
	for _, tt := range tests {
		cfg := testConfig(t)
		tt.mutate(&cfg)
		_, err := New(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: New error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestTLS(t *testing.T) {
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = writeCert(t)
	s, _ := newServer(t, cfg)
	base, _ := start(t, s)
	pool := x509.NewCertPool()
	pemBytes, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("GET /healthz over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}

func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestLayerURLRoute checks that signed layer URLs reach their handler with
// no registry credentials, and that an unsigned one is refused there.
func TestLayerURLRoute(t *testing.T) {
	s, _ := newServer(t, testConfig(t))
	base, _ := start(t, s)
	resp, _ := do(t, "GET", base+"/ecr-layer/team/app/sha256:"+strings.Repeat("a", 64), nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned layer URL: status %d, want 403", resp.StatusCode)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("layer URL asked for credentials: %q", got)
	}
}

// A blob whose rename into place a crash lost is back when the server
// starts again (registry.RecoverBlobCommits runs in New).
func TestNewRestoresBlobsWhoseRenameWasLost(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.CreateOnPush = true
	s, _ := newServer(t, cfg)
	data := []byte("pushed just before the crash")
	d := digest.FromBytes(data)
	if _, err := s.core.PutBlob(ctx, "team/app", d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(cfg.DataDir, "blobs", "sha256", d.Encoded()[:2], d.Encoded())
	if err := os.Rename(final, filepath.Join(cfg.DataDir, "uploads", "lost")); err != nil {
		t.Fatal(err)
	}

	s, logs := newServer(t, cfg)
	defer s.Close()
	if got := logs.lines(t, "restored blobs whose rename into place a crash lost"); len(got) != 1 || got[0]["count"] != 1.0 {
		t.Errorf("restore log lines: %v", got)
	}
	rc, _, err := s.core.OpenBlob(ctx, "team/app", d)
	if err != nil {
		t.Fatalf("OpenBlob after restart: %v", err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob after restart: %q, %v", got, err)
	}
}
