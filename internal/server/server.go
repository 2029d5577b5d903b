// Package server wires Berth together: it opens the stores, builds the domain
// core, mounts the API adapters behind one small middleware chain (request
// id, recovery, access log, metrics) and runs the HTTP listener with a
// graceful shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/ecrapi"
	"github.com/berth-registry/berth/internal/identity"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/oci"
	"github.com/berth-registry/berth/internal/registry"
)

// HTTP server limits. There is deliberately no ReadTimeout or WriteTimeout:
// they would cut off multi-gigabyte blob uploads and downloads.
const (
	readHeaderTimeout = 20 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// handlerGrace is how long handlers whose requests were cancelled at the
	// end of the shutdown timeout get to return.
	handlerGrace = 5 * time.Second
)

// Lifecycle states reported by /healthz.
const (
	stateStarting int32 = iota
	stateServing
	stateDraining
)

// Server is a configured Berth instance. Serve or Run it once.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	meta  meta.Store
	blobs blob.Store
	core  *registry.Registry
	id    *identity.Identity
	tls   *tls.Config

	// announce receives the root credentials generated at the first start.
	announce io.Writer

	// Handlers by route; fields so tests can substitute them.
	v2  http.Handler
	ecr http.Handler
	iam http.Handler // iam.go: IAM and STS (Query protocol)
	// layerURLs serves GetDownloadUrlForLayer's signed URLs (no other auth).
	layerURLs http.Handler
	health    http.Handler
	metrics   http.Handler
	pprof     http.Handler

	prom       *prometheus.Registry
	httpMets   *httpMetrics
	state      atomic.Int32
	inflight   atomic.Int64 // handlers running
	requestIDs *requestIDs

	// Janitor work, fields so tests can substitute them.
	janitorEvery time.Duration
	reclaim      func(context.Context) (int, error)

	closeOnce sync.Once
	closeErr  error
}

// Option adjusts a Server being built.
type Option func(*Server)

// purposeLayerURLs derives the key that signs layer download URLs, so every
// node sharing the master key accepts the URLs any node hands out.
const purposeLayerURLs = "ecr-layer-urls"

// WithAnnounce sets where the root access key generated at the first start
// is printed, once (default os.Stderr). It is never sent to the log.
func WithAnnounce(w io.Writer) Option {
	return func(s *Server) { s.announce = w }
}

// New opens the stores under cfg.DataDir, bootstraps the identity and builds
// the server. The caller must Run (or Serve) it, or Close it to release the
// stores.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := cfg.ValidateNode(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(requestIDHandler{log.Handler()})

	s := &Server{cfg: cfg, log: log, announce: os.Stderr, requestIDs: newRequestIDs()}
	for _, o := range opts {
		o(s)
	}
	if cfg.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if err := requireSharedMasterKey(cfg); err != nil {
		return nil, err
	}
	st, err := openStores(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	m, b := st.meta, st.blobs
	s.meta, s.blobs = m, b
	s.id, err = identity.Bootstrap(ctx, m, identity.Config{
		AccountID:           cfg.AccountID,
		MasterKeyFile:       cfg.MasterKeyPath(),
		RootAccessKeyID:     cfg.RootAccessKeyID,
		RootSecretAccessKey: cfg.RootSecretAccessKey,
		Announce:            s.announce,
		Logger:              log,
	})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.core = registry.New(m, b, registry.Config{
		CreateOnPush: cfg.CreateOnPush, UploadTTL: cfg.UploadTTL, RegistryID: s.id.AccountID(), CacheTTL: st.cacheTTL,
	}, log)
	// Before the janitor can mistake their bytes for abandoned uploads.
	if n, err := s.core.RecoverBlobCommits(ctx); err != nil {
		_ = s.Close()
		return nil, err
	} else if n > 0 {
		log.Warn("restored blobs whose rename into place a crash lost", "count", n)
	}

	s.prom = prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := s.prom.Register(c); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("register collector: %w", err)
		}
	}
	if s.httpMets, err = newHTTPMetrics(s.prom); err != nil {
		_ = s.Close()
		return nil, err
	}

	az := authz.New(authz.Config{Identities: s.id, Resources: s.core, Logger: log, CreateOnPush: cfg.CreateOnPush}) // IAM enforcement on both APIs
	// Location headers are absolute only when the public URL was configured;
	// a guessed one would send clients that know the server by another name
	// (localhost, a LAN address) somewhere else.
	locationBase := cfg.PublicURL
	if cfg.PublicURLDerived {
		locationBase = ""
	}
	// One authorizer for the adapter and the redirect in front of it (the
	// cache of verified Authorization headers lives in s.id.Tokens()).
	v2Auth := v2Authorizer(s.id.Tokens(), cfg.PublicURL, az, cfg.Region)
	s.v2 = oci.New(s.core, oci.Options{PublicURL: locationBase, Logger: log, Authorize: v2Auth})
	if st.presign != nil {
		s.v2 = blobRedirects(s.core, v2Auth, log, s.v2)
	}
	urlKey, err := s.id.DeriveKey(purposeLayerURLs)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	ecrOpts := ecrapi.Options{
		AccountID: s.id.AccountID(), Region: cfg.Region, PublicURL: cfg.PublicURL,
		Tokens: s.id.Tokens(), URLSigningKey: urlKey, Logger: log, Authorizer: az,
		ScanQuota: time.Duration(scanQuota(int64(cfg.ScanQuota))), // scan.go
	}
	ecr, err := ecrapi.NewHandler(s.core, ecrOpts, &auth.Verifier{Keys: s.id, Region: cfg.Region})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.ecr = awsJSON(ecr)
	s.iam = newIAMHandler(s.id, cfg.Region, az, log)
	s.iam = forgetPoliciesAfter(az, s.iam) // iamauthz.go: IAM changes apply to ECR and /v2 at once
	if s.layerURLs, err = ecrapi.NewDownloadHandler(s.core, ecrOpts); err != nil {
		_ = s.Close()
		return nil, err
	}
	if st.presign != nil {
		s.layerURLs = layerURLRedirects(s.core, log, s.layerURLs)
	}
	s.health = http.HandlerFunc(s.healthz)
	s.metrics = metricsHandler(s.prom, log)
	if cfg.DebugPprof {
		s.pprof = pprofHandler()
	}

	s.janitorEvery = janitorInterval(cfg.UploadTTL)
	s.reclaim = s.core.ReclaimStaleUploads
	return s, nil
}

// Identity is the server's bootstrapped identity (account id, root key,
// login tokens).
func (s *Server) Identity() *identity.Identity { return s.id }

// Run listens on cfg.Listen and serves until ctx is done (see Serve).
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		closeErr := s.Close()
		return errors.Join(fmt.Errorf("listen: %w", err), closeErr)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done or the listener fails, then shuts down
// gracefully: /healthz turns 503, the listener closes, in-flight requests get
// up to cfg.ShutdownTimeout to finish (after which their contexts are
// cancelled and connections closed), the janitor stops and the stores close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Requests outlive ctx during the drain; baseCtx is cancelled only when
	// the drain gives up.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         s.tls,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}

	janitorCtx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		defer s.startLifecycle(janitorCtx)() // lifecycle.go: stops with the janitor
		defer s.startGC(janitorCtx)()        // gc.go: stops with the janitor
		defer s.startScan(janitorCtx)()      // scan.go: stops with the janitor
		s.runJanitor(janitorCtx)
	}()

	// The listener is already accepting, so the server counts as serving.
	s.state.Store(stateServing)
	serveErr := make(chan error, 1)
	go func() {
		if s.tls != nil {
			serveErr <- hs.ServeTLS(ln, "", "")
		} else {
			serveErr <- hs.Serve(ln)
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "public_url", s.cfg.PublicURL, "tls", s.tls != nil,
		"data_dir", s.cfg.DataDir, "create_on_push", s.cfg.CreateOnPush,
		"account_id", s.id.AccountID(), "region", s.cfg.Region)

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	}
	s.state.Store(stateDraining)
	stopJanitor()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if serr := hs.Shutdown(shutdownCtx); serr != nil {
		s.log.Warn("in-flight requests did not finish in time; closing their connections", "err", serr)
		cancelBase()
		_ = hs.Close()
		// Close does not wait for handlers; give the cancelled ones a moment
		// to return before their stores close underneath them.
		s.waitHandlers(handlerGrace)
	}
	if err == nil {
		<-serveErr // http.ErrServerClosed
	}
	<-janitorDone
	s.flushPulls(context.Background())
	if cerr := s.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err == nil {
		s.log.Info("stopped")
	}
	return err
}

// waitHandlers waits until no handler runs, for at most grace.
func (s *Server) waitHandlers(grace time.Duration) {
	deadline := time.Now().Add(grace)
	for s.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.inflight.Load(); n > 0 {
		s.log.Warn("closing stores under handlers that ignore cancellation", "handlers", n)
	}
}

// Close releases the stores. Serve calls it; call it directly only when the
// server was built but never served.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.meta != nil {
			if err := s.meta.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close metadata store: %w", err))
			}
		}
		if c, ok := s.blobs.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close blob store: %w", err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// healthz answers 200 while serving and 503 before and during shutdown, so a
// load balancer stops sending traffic to a draining node.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch s.state.Load() {
	case stateStarting:
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	case stateDraining:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}
