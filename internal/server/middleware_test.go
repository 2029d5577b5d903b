package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-registry/berth/internal/config"
)

// readerFromWriter is a ResponseWriter with its own ReadFrom, standing in
// for net/http's connection writer (whose ReadFrom uses sendfile).
type readerFromWriter struct {
	*httptest.ResponseRecorder
	readFromCalls int
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFromCalls++
	return io.Copy(w.ResponseRecorder, r) // the recorder has no ReadFrom: no recursion
}

func TestRecorderKeepsReaderFrom(t *testing.T) {
	under := &readerFromWriter{ResponseRecorder: httptest.NewRecorder()}
	var w http.ResponseWriter = &recorder{ResponseWriter: under}
	rf, ok := w.(io.ReaderFrom)
	if !ok {
		t.Fatal("wrapped writer is not an io.ReaderFrom")
	}
	if _, ok := w.(http.Flusher); !ok {
		t.Fatal("wrapped writer is not an http.Flusher")
	}
	payload := strings.Repeat("x", 100_000)
	n, err := rf.ReadFrom(strings.NewReader(payload))
	if err != nil || n != int64(len(payload)) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	rec := w.(*recorder)
	if under.readFromCalls != 1 {
		t.Errorf("underlying ReadFrom called %d times, want 1", under.readFromCalls)
	}
	if rec.written != int64(len(payload)) || rec.status != 200 || under.Body.Len() != len(payload) {
		t.Errorf("written %d status %d body %d, want %d 200 %d", rec.written, rec.status, under.Body.Len(), len(payload), len(payload))
	}
}

func TestRecorderReadFromFallback(t *testing.T) {
	under := httptest.NewRecorder() // no ReadFrom
	rec := &recorder{ResponseWriter: under}
	n, err := rec.ReadFrom(strings.NewReader("hello"))
	if err != nil || n != 5 || rec.written != 5 || under.Body.String() != "hello" {
		t.Errorf("ReadFrom = %d, %v; written %d; body %q", n, err, rec.written, under.Body.String())
	}
}

// TestServeContentCountsFile serves a file the way the blob GET path does and
// checks that the bytes sent through ReadFrom are counted.
func TestServeContentCountsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blob")
	content := strings.Repeat("0123456789", 10_000)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	under := &readerFromWriter{ResponseRecorder: httptest.NewRecorder()}
	rec := &recorder{ResponseWriter: under}
	http.ServeContent(rec, httptest.NewRequest("GET", "/", nil), "", time.Time{}, f)
	if under.readFromCalls != 1 {
		t.Errorf("ServeContent did not use ReadFrom (%d calls)", under.readFromCalls)
	}
	if rec.written != int64(len(content)) || rec.status != 200 {
		t.Errorf("written %d status %d, want %d 200", rec.written, rec.status, len(content))
	}
}

func TestRecorderStatus(t *testing.T) {
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"implicit", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, 200},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(404) }, 404},
		{"first wins", func(w http.ResponseWriter) { w.WriteHeader(201); w.WriteHeader(500) }, 201},
		{"interim then final", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(204) }, 204},
		{"flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200},
		{"nothing", func(http.ResponseWriter) {}, 0},
	}
	for _, tt := range tests {
		rec := &recorder{ResponseWriter: httptest.NewRecorder()}
		tt.write(rec)
		if rec.status != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, rec.status, tt.want)
		}
	}
}

func TestRecorderUnwrap(t *testing.T) {
	under := httptest.NewRecorder()
	rec := &recorder{ResponseWriter: under}
	// ResponseController finds Flush through Unwrap chains too.
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Errorf("ResponseController.Flush: %v", err)
	}
	if !under.Flushed {
		t.Error("flush did not reach the underlying writer")
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func TestRecorderWriteAllocs(t *testing.T) {
	rec := &recorder{ResponseWriter: &discardWriter{h: http.Header{}}}
	b := make([]byte, 512)
	if n := testing.AllocsPerRun(100, func() { _, _ = rec.Write(b) }); n != 0 {
		t.Errorf("recorder.Write allocates %v times per call, want 0", n)
	}
	body := &countingBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", 1<<20)))}
	if n := testing.AllocsPerRun(100, func() { _, _ = body.Read(b) }); n != 0 {
		t.Errorf("countingBody.Read allocates %v times per call, want 0", n)
	}
}

func TestSeriesCached(t *testing.T) {
	m, err := newHTTPMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	first := m.series("blob", "GET", 200)
	if m.series("blob", "GET", 200) != first {
		t.Error("series not cached")
	}
	if m.series("blob", "GET", 404) == first {
		t.Error("different status shares a series")
	}
	if n := testing.AllocsPerRun(100, func() { m.series("blob", "GET", 200).requests.Inc() }); n != 0 {
		t.Errorf("cached series lookup allocates %v times, want 0", n)
	}
}

func TestMethodLabel(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "PROPFIND": "OTHER", "get": "OTHER"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestIDHandler(t *testing.T) {
	var b strings.Builder
	log := slog.New(requestIDHandler{slog.NewTextHandler(&b, nil)}).With("k", "v")
	ctx := context.WithValue(context.Background(), requestIDKey{}, "rid-1")
	log.InfoContext(ctx, "with")
	log.Info("without")
	out := b.String()
	if !strings.Contains(out, "msg=with k=v request_id=rid-1") {
		t.Errorf("log with request context: %q", out)
	}
	if strings.Count(out, "request_id") != 1 {
		t.Errorf("request_id logged without a request context: %q", out)
	}
}

func TestJanitorInterval(t *testing.T) {
	tests := []struct{ ttl, want time.Duration }{
		{24 * time.Hour, 10 * time.Minute},
		{40 * time.Minute, 10 * time.Minute},
		{20 * time.Minute, 5 * time.Minute},
		{time.Minute, 15 * time.Second},
		{time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := janitorInterval(tt.ttl); got != tt.want {
			t.Errorf("janitorInterval(%s) = %s, want %s", tt.ttl, got, tt.want)
		}
	}
}

func TestJanitorRuns(t *testing.T) {
	s, logs := newServer(t, testConfig(t))
	s.janitorEvery = time.Millisecond
	calls := make(chan struct{}, 100)
	s.reclaim = func(context.Context) (int, error) {
		select {
		case calls <- struct{}{}:
		default:
		}
		return 3, nil
	}
	_, stop := start(t, s)
	<-calls
	<-calls
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	reclaimed := logs.lines(t, "reclaimed stale uploads")
	if len(reclaimed) < 1 || reclaimed[0]["count"] != 3.0 {
		t.Errorf("reclaim log lines: %v", reclaimed)
	}
}

func FuzzValidRequestID(f *testing.F) {
	f.Add("0f8fad5b-d9cb-469f-a165-70867728950e")
	f.Add("a b")
	f.Add("\n")
	f.Fuzz(func(t *testing.T, id string) {
		if !validRequestID(id) {
			return
		}
		// Whatever is accepted is echoed in a header and logged: it must
		// be short and free of spaces, quotes and control characters.
		if len(id) > maxRequestIDLen || strings.ContainsAny(id, " \t\r\n\"'\\<>") {
			t.Errorf("accepted %q", id)
		}
		for _, c := range []byte(id) {
			if c < 0x21 || c > 0x7e {
				t.Errorf("accepted %q with byte %#x", id, c)
			}
		}
	})
}

// BenchmarkServeHTTP measures the middleware's cost per request around a
// trivial handler (run with -benchmem to see allocations).
func BenchmarkServeHTTP(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.PublicURL = "http://127.0.0.1:5000"
	s, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.state.Store(stateServing)
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.Header.Set(requestIDHeader, "bench")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(w, r)
	}
}
