package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-registry/berth/internal/iamapi"
)

// requestIDHeader carries the request id both ways.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an honoured client request id.
const maxRequestIDLen = 128

type requestIDKey struct{}

// requestIDFrom returns the request id stored in ctx, if any.
func requestIDFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(requestIDKey{}).(string)
	return id, ok
}

// ServeHTTP is the whole middleware chain, inlined into one function so a
// request costs one wrapper allocation: route, request id, uploads gauge,
// then the handler under recovery, then metrics and the access log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	route, h := s.route(r)

	id := r.Header.Get(requestIDHeader)
	if !validRequestID(id) {
		id = s.requestIDs.next()
	}
	w.Header()[requestIDHeader] = []string{id}
	if route == routeECR {
		// AWS SDKs read the request id of an error from this header.
		w.Header()["X-Amzn-Requestid"] = []string{id}
	}

	rec := &recorder{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	if r.Body != nil {
		rec.body.ReadCloser = r.Body
		r.Body = &rec.body
	}

	upload := isUpload(route, r.Method)
	if upload {
		s.httpMets.uploads.Inc()
	}
	defer func() {
		if upload {
			s.httpMets.uploads.Dec()
		}
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			s.recovered(rec, r, route, p)
		}
		s.observe(r, rec, route, start)
		if p == http.ErrAbortHandler || p != nil && rec.headerSentBeforePanic {
			// The response is already partly sent: abort the connection so
			// the client sees a broken response, not a short one.
			panic(http.ErrAbortHandler)
		}
	}()
	h.ServeHTTP(rec, r)
}

// recovered logs a handler panic and answers 500 when nothing was sent yet,
// in the error shape of the API the route belongs to.
func (s *Server) recovered(rec *recorder, r *http.Request, route string, p any) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
		slog.String("method", r.Method), slog.String("path", truncate(r.URL.Path, 256)),
		slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
	if rec.wroteHeader {
		rec.headerSentBeforePanic = true
		return
	}
	const msg = "internal server error"
	switch {
	case strings.HasPrefix(r.URL.Path, "/v2"):
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(rec, `{"errors":[{"code":"UNKNOWN","message":"`+msg+`"}]}`)
	case route == routeECR:
		writeAWSError(rec, http.StatusInternalServerError, "ServerException", msg)
	case route == routeIAM:
		// The Query protocol (IAM, STS) answers errors in XML, as iamapi does.
		id, _ := requestIDFrom(r.Context())
		iamapi.WriteServiceFailure(rec, r, id)
	default:
		http.Error(rec, msg, http.StatusInternalServerError)
	}
}

// observe records metrics and writes the access log line. It logs no
// headers: they may carry credentials.
func (s *Server) observe(r *http.Request, rec *recorder, route string, start time.Time) {
	end := time.Now()
	elapsed := end.Sub(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK // net/http's implicit status
	}
	method := methodLabel(r.Method)
	se := s.httpMets.series(route, method, status)
	se.requests.Inc()
	se.duration.Observe(elapsed.Seconds())
	if rec.body.n > 0 {
		se.bytesIn.Add(float64(rec.body.n))
	}
	if rec.written > 0 {
		se.bytesOut.Add(float64(rec.written))
	}

	level := slog.LevelInfo
	if route == routeHealthz || route == routeMetrics {
		level = slog.LevelDebug // probes and scrapes would drown the log
	}
	ctx := r.Context()
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	id, _ := requestIDFrom(ctx)
	// The record is built here with every attribute, the request id
	// included, and handed to the handler with a context that carries no
	// id, so requestIDHandler does not copy and grow it again: this runs
	// once per request.
	line := slog.NewRecord(end, level, "request", 0)
	line.AddAttrs(
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", truncate(r.URL.Path, 256)),
		slog.Int("status", status),
		slog.Int64("bytes_in", rec.body.n),
		slog.Int64("bytes_out", rec.written),
		// An integer: slog's JSON handler formats floats through encoding/json.
		slog.Int64("duration_us", elapsed.Microseconds()),
		slog.String("remote", r.RemoteAddr),
		slog.String("request_id", id),
	)
	_ = h.Handle(context.Background(), line)
}

// requestIDs mints request ids: a random prefix per process and a counter,
// unique across nodes and restarts without reading randomness per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: rand.Text()[:16] + "-"} // 80 random bits
}

func (g *requestIDs) next() string {
	var b [40]byte
	return string(strconv.AppendUint(append(b[:0], g.prefix...), g.n.Add(1), 36))
}

// validRequestID accepts a client request id that is short and made of
// characters safe in headers and logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

// methodLabel maps a request method to a bounded metric label.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// requestIDHandler adds the request id from the context to every record, so
// any code that logs with a request's context is correlated with it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := requestIDFrom(ctx); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// recorder captures the status and byte counts of a response. It keeps the
// fast paths of the wrapped writer: io.ReaderFrom (sendfile for blob GETs)
// and http.Flusher, and Unwrap for http.ResponseController. It also holds the
// request body counter so a request needs a single allocation for both.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	written     int64
	body        countingBody

	headerSentBeforePanic bool
}

var (
	_ io.ReaderFrom = (*recorder)(nil)
	_ http.Flusher  = (*recorder)(nil)
)

func (w *recorder) WriteHeader(code int) {
	// 1xx responses other than 101 are interim; the final status follows.
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// ReadFrom lets io.Copy (and so http.ServeContent) hand an *os.File straight
// to the connection, which uses sendfile.
func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.written += n
	return n, err
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.status, w.wroteHeader = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides a writer's ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// countingBody counts the request body bytes a handler reads.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
