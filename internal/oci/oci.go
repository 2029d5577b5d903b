// Package oci is the OCI Distribution v1.1 HTTP adapter: it parses the /v2
// wire protocol, calls the domain core (internal/registry), and maps the
// core's errors to OCI error codes. It holds no registry rule of its own.
package oci

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

// DefaultMaxManifestBytes bounds a manifest body read (the core enforces the
// same 4 MiB limit as a rule; this bound only protects memory).
const DefaultMaxManifestBytes = 4 << 20

// Actions passed to the Authorize hook.
const (
	ActionPull    = "pull"
	ActionPush    = "push"
	ActionDelete  = "delete"
	ActionCatalog = "catalog"
)

// Access is what a request needs. The base endpoint (/v2/) and unknown routes
// ask for an empty Access (authentication only); the catalog asks for
// Actions ["catalog"] with no Repository.
type Access struct {
	Repository string
	Actions    []string
	// MountSource marks the check of the repository a cross-repository
	// mount reads from, which is not the repository the request names.
	MountSource bool
}

// Options configures the adapter.
type Options struct {
	// PublicURL is the absolute base URL clients reach the registry at (e.g.
	// "https://registry.example.com"). When set, Location headers are absolute
	// URLs built from it; otherwise they are absolute paths.
	PublicURL string
	// Logger receives internal errors; defaults to slog.Default().
	Logger *slog.Logger
	// MaxManifestBytes bounds a manifest PUT body; defaults to DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// Authorize, when set, is called before every operation. Returning an
	// *AuthError controls the response (401 with a challenge, or 403); a
	// *registry.Error is mapped like any core error; any other error is a 500.
	// When Authorize is set, an anonymous blob mount (no "from") reads from
	// a repository holding the blob that the caller may pull from, if any.
	// On success it returns who the caller is.
	Authorize func(r *http.Request, access Access) (Caller, error)
}

// Caller is the authenticated client of a request, as the Authorize hook
// found it. The zero Caller is anonymous.
type Caller struct {
	// PrincipalARN is the IAM principal; manifest pulls are recorded against
	// it (pull-time update exclusions, registry/lifecycle.go).
	PrincipalARN string
}

// AuthError is the error an Authorize hook returns to refuse a request.
type AuthError struct {
	// Status is 401 (unauthenticated) or 403 (denied). Zero means 401 when
	// Challenge is set, else 403.
	Status int
	// Challenge is the WWW-Authenticate header value sent with a 401, e.g.
	// `Basic realm="https://host/",service="ecr.amazonaws.com"`.
	Challenge string
	// Code is the OCI error code; empty means UNAUTHORIZED for 401 and DENIED
	// for 403.
	Code string
	// Message is shown to the client; keep secrets out of it.
	Message string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *AuthError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.status())
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

func (e *AuthError) status() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Challenge != "":
		return http.StatusUnauthorized
	default:
		return http.StatusForbidden
	}
}

func (e *AuthError) code() string {
	if e.Code != "" {
		return e.Code
	}
	if e.status() == http.StatusUnauthorized {
		return "UNAUTHORIZED"
	}
	return "DENIED"
}

// Unauthorized builds a 401 AuthError carrying a WWW-Authenticate challenge.
func Unauthorized(challenge, message string) *AuthError {
	return &AuthError{Status: http.StatusUnauthorized, Challenge: challenge, Code: "UNAUTHORIZED", Message: message}
}

// Denied builds a 403 AuthError.
func Denied(message string) *AuthError {
	return &AuthError{Status: http.StatusForbidden, Code: "DENIED", Message: message}
}

// core is the part of *registry.Registry the adapter uses; an interface so
// handler tests can run against a fake.
type core interface {
	Catalog(ctx context.Context, after string, n int) ([]string, error)
	StatBlob(ctx context.Context, repo string, dgst digest.Digest) (registry.BlobInfo, error)
	OpenBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadSeekCloser, registry.BlobInfo, error)
	DeleteBlob(ctx context.Context, repo string, dgst digest.Digest) error
	MountBlob(ctx context.Context, repo, from string, dgst digest.Digest) (registry.BlobInfo, error)
	BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error)
	StartUpload(ctx context.Context, repo string) (registry.UploadStatus, error)
	GetUpload(ctx context.Context, repo, id string) (registry.UploadStatus, error)
	AppendUpload(ctx context.Context, repo, id string, offset int64, body io.Reader) (registry.UploadStatus, error)
	CompleteUpload(ctx context.Context, repo, id string, offset int64, body io.Reader, dgst digest.Digest) (registry.BlobInfo, error)
	CancelUpload(ctx context.Context, repo, id string) error
	PutBlob(ctx context.Context, repo string, dgst digest.Digest, body io.Reader) (registry.BlobInfo, error)
	GetManifest(ctx context.Context, repo, reference string) (*registry.Manifest, error)
	PutManifest(ctx context.Context, repo, reference, contentType string, content []byte, extraTags []string) (registry.PutManifestResult, error)
	DeleteManifest(ctx context.Context, repo, reference string) error
	ListTags(ctx context.Context, repo, after string, n int) ([]string, error)
	ListReferrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) (registry.Referrers, error)
	// RecordPullBy notes a manifest pull by principalARN, honouring
	// pull-time update exclusions (registry/lifecycle.go).
	RecordPullBy(repo string, dgst digest.Digest, principalARN string)
}

var _ core = (*registry.Registry)(nil)

type handler struct {
	core        core
	base        string
	log         *slog.Logger
	maxManifest int64
	authorize   func(*http.Request, Access) (Caller, error)
}

// New returns the handler serving everything under /v2/.
func New(c *registry.Registry, opts Options) http.Handler {
	return newHandler(c, opts)
}

func newHandler(c core, opts Options) *handler {
	h := &handler{
		core:        c,
		base:        strings.TrimRight(opts.PublicURL, "/"),
		log:         opts.Logger,
		maxManifest: opts.MaxManifestBytes,
		authorize:   opts.Authorize,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxManifest <= 0 {
		h.maxManifest = DefaultMaxManifestBytes
	}
	return h
}

// allowed lists the methods each route serves.
var allowed = map[routeKind][]string{
	routeBase:        {http.MethodGet, http.MethodHead},
	routeCatalog:     {http.MethodGet, http.MethodHead},
	routeTags:        {http.MethodGet, http.MethodHead},
	routeManifest:    {http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete},
	routeBlob:        {http.MethodGet, http.MethodHead, http.MethodDelete},
	routeUploadStart: {http.MethodPost},
	routeUpload:      {http.MethodGet, http.MethodPatch, http.MethodPut, http.MethodDelete},
	routeReferrers:   {http.MethodGet, http.MethodHead},
}

func methodAllowed(kind routeKind, method string) bool {
	for _, m := range allowed[kind] {
		if m == method {
			return true
		}
	}
	return false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Docker-Distribution-Api-Version"] = apiVersion
	rt := parseRoute(r.URL.Path)
	if rt.kind == routeUnknown {
		if h.allow(w, r, Access{}) {
			h.fail(w, r, registry.Errorf(registry.KindNameUnknown, "unknown route %s %s", r.Method, truncate(r.URL.Path)))
		}
		return
	}
	if !methodAllowed(rt.kind, r.Method) {
		if h.allow(w, r, Access{}) {
			w.Header().Set("Allow", strings.Join(allowed[rt.kind], ", "))
			h.writeError(w, r, http.StatusMethodNotAllowed, "UNSUPPORTED", "method "+r.Method+" is not supported on this route", nil)
		}
		return
	}
	switch rt.kind {
	case routeBase:
		h.ping(w, r)
	case routeCatalog:
		h.catalog(w, r)
	case routeTags:
		h.tags(w, r, rt.name)
	case routeManifest:
		h.manifest(w, r, rt.name, rt.ref)
	case routeBlob:
		h.blob(w, r, rt.name, rt.ref)
	case routeUploadStart:
		h.startUpload(w, r, rt.name)
	case routeUpload:
		h.upload(w, r, rt.name, rt.ref)
	case routeReferrers:
		h.referrers(w, r, rt.name, rt.ref)
	}
}

// apiVersion is the Docker-Distribution-API-Version header value every
// response carries, shared so setting it allocates nothing: never modify
// it in place (Header.Set replaces it).
var apiVersion = []string{"registry/2.0"}

// allow runs the Authorize hook and writes the refusal when it fails.
func (h *handler) allow(w http.ResponseWriter, r *http.Request, access Access) bool {
	_, ok := h.authorizeCaller(w, r, access)
	return ok
}

// authorizeCaller is allow for handlers that need to know the caller.
func (h *handler) authorizeCaller(w http.ResponseWriter, r *http.Request, access Access) (Caller, bool) {
	if h.authorize == nil {
		return Caller{}, true
	}
	c, err := h.authorize(r, access)
	if err == nil {
		return c, true
	}
	h.authFail(w, r, err)
	return Caller{}, false
}

// ping answers the API version check (GET /v2/).
func (h *handler) ping(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r, Access{}) {
		return
	}
	writeBody(w, http.StatusOK, "application/json", []byte("{}"))
}

// location builds a Location header value for an absolute path.
func (h *handler) location(path string) string { return h.base + path }

func truncate(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
