package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berth-registry/berth/internal/ecrapi"
	"github.com/berth-registry/berth/internal/oci"
)

// Route labels of the server's own endpoints. The /v2 labels come from
// oci.RouteName. Labels are a small fixed set: they are metric labels.
const (
	routeECR      = "ecr"
	routeLayerURL = "layer_url"
	routeHealthz  = "healthz"
	routeMetrics  = "metrics"
	routePprof    = "pprof"
	routeNotFound = "not_found"
)

// route picks the handler for r and its route label. Routing is by path
// prefix; the AWS APIs all POST to / and are told apart by X-Amz-Target
// (JSON protocols) or the Action form field (Query protocols).
func (s *Server) route(r *http.Request) (string, http.Handler) {
	p := r.URL.Path
	switch {
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		return oci.RouteName(r.Method, p), s.v2
	case p == "/" && s.isQueryAPI(r): // iam.go
		return routeIAM, s.iam
	case p == "/" && r.Method == http.MethodPost:
		return routeECR, s.ecr
	case strings.HasPrefix(p, ecrapi.DownloadPathPrefix):
		return routeLayerURL, s.layerURLs
	case p == "/healthz":
		return routeHealthz, s.health
	case p == "/metrics":
		return routeMetrics, s.metrics
	case s.pprof != nil && strings.HasPrefix(p, "/debug/pprof/"):
		return routePprof, s.pprof
	}
	return routeNotFound, http.HandlerFunc(http.NotFound)
}

// Upload route labels, as oci.RouteName documents them.
const (
	routeUploadStart = "blob_upload_start"
	routeUpload      = "blob_upload"
)

// isUpload reports whether a request streams blob upload data: a POST that
// starts an upload (possibly monolithic) or a PATCH/PUT that sends a chunk.
func isUpload(route, method string) bool {
	switch route {
	case routeUploadStart:
		return method == http.MethodPost
	case routeUpload:
		return method == http.MethodPatch || method == http.MethodPut
	}
	return false
}

// awsError is the AWS JSON 1.1 protocol error body.
type awsError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func writeAWSError(w http.ResponseWriter, status int, typ, msg string) {
	body, err := json.Marshal(awsError{Type: typ, Message: msg})
	if err != nil { // unreachable: two strings always marshal
		body = []byte(`{"__type":"InternalFailure"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ecrTargetPrefix starts the X-Amz-Target of every ECR JSON API operation.
const ecrTargetPrefix = ecrapi.TargetPrefix + "."

// awsJSON routes the AWS JSON APIs on POST / by X-Amz-Target: ECR's
// operations to ecr, anything else to unknownOperation.
func awsJSON(ecr http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), ecrTargetPrefix) {
			ecr.ServeHTTP(w, r)
			return
		}
		unknownOperation(w, r)
	})
}

// unknownOperation answers POST / requests no API claims.
func unknownOperation(w http.ResponseWriter, r *http.Request) {
	msg := "no operation named by X-Amz-Target"
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		msg = "operation " + truncate(target, 128) + " is not supported"
	}
	writeAWSError(w, http.StatusBadRequest, "UnknownOperationException", msg)
}

func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
		// Scrapes are cheap but not free; a handful at once is plenty.
		MaxRequestsInFlight: 4,
	})
}

func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
