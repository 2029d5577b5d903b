package server

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// durationBuckets reach minutes: blob uploads and downloads are long requests.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// httpMetrics are the request metrics. Children are cached per (route,
// method, status) so that observing a request takes one map lookup under a
// read lock and allocates nothing.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	uploads  prometheus.Gauge

	mu    sync.RWMutex
	cache map[seriesKey]*series
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_requests_total",
			Help: "HTTP requests served, by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_http_request_duration_seconds",
			Help:    "HTTP request duration, by route and method.",
			Buckets: durationBuckets,
		}, []string{"route", "method"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_request_bytes_total",
			Help: "Request body bytes read, by route.",
		}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_response_bytes_total",
			Help: "Response body bytes written, by route.",
		}, []string{"route"}),
		uploads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_uploads_in_flight",
			Help: "Blob upload requests currently streaming.",
		}),
		cache: map[seriesKey]*series{},
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytesIn, m.bytesOut, m.uploads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// series returns the cached children for a request's labels. Labels are
// bounded (fixed route and method sets, HTTP status codes), so is the cache.
func (m *httpMetrics) series(route, method string, status int) *series {
	k := seriesKey{route, method, status}
	m.mu.RLock()
	s := m.cache[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.cache[k]; s == nil {
		s = &series{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route, method),
			bytesIn:  m.bytesIn.WithLabelValues(route),
			bytesOut: m.bytesOut.WithLabelValues(route),
		}
		m.cache[k] = s
	}
	return s
}
