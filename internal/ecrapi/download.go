package ecrapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

// DownloadPathPrefix is where the server mounts DownloadHandler: the
// downloadUrl GetDownloadUrlForLayer returns is
// <PublicURL>/ecr-layer/<repository>/<digest>?expires=<unix>&sig=<hmac>.
const DownloadPathPrefix = "/ecr-layer/"

// DownloadURLLifetime is how long a layer download URL stays valid.
const DownloadURLLifetime = time.Hour

// downloadSigContext separates these MACs from any other use of the key.
const downloadSigContext = "berth ecr layer download v1"

// DownloadHandler serves the URLs GetDownloadUrlForLayer returns: a plain,
// unauthenticated GET (or HEAD) whose query carries an expiry and an HMAC
// over repository, digest and expiry, like a presigned S3 URL. A bad or
// expired signature is 403; the blob is served with http.ServeContent
// (ranges, sendfile on the filesystem store).
func (s *Service) DownloadHandler() http.Handler {
	return &layerDownloader{s: s, now: time.Now}
}

// NewDownloadHandler returns the DownloadHandler of the service NewHandler
// builds from the same core and options (the same URLSigningKey).
func NewDownloadHandler(core *registry.Registry, opts Options) (http.Handler, error) {
	s, err := newService(core, opts)
	if err != nil {
		return nil, err
	}
	return s.DownloadHandler(), nil
}

// downloadURL mints a download URL for a layer, valid from now for
// DownloadURLLifetime.
func (s *Service) downloadURL(repo string, dgst digest.Digest, now time.Time) string {
	expires := now.Add(DownloadURLLifetime).Unix()
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(expires, 10))
	q.Set("sig", base64.RawURLEncoding.EncodeToString(s.downloadMAC(repo, dgst.String(), expires)))
	return strings.TrimRight(s.opts.PublicURL, "/") + DownloadPathPrefix + repo + "/" + dgst.String() + "?" + q.Encode()
}

// downloadMAC is the HMAC-SHA256 of a download URL's signed parts.
func (s *Service) downloadMAC(repo, dgst string, expires int64) []byte {
	m := hmac.New(sha256.New, s.urlSigningKey())
	fmt.Fprintf(m, "%s\x00%s\x00%s\x00%d", downloadSigContext, repo, dgst, expires)
	return m.Sum(nil)
}

// urlSigningKey is Options.URLSigningKey or, when none is configured, a
// random key for this process (URLs then only verify on this node).
func (s *Service) urlSigningKey() []byte {
	if len(s.opts.URLSigningKey) > 0 {
		return s.opts.URLSigningKey
	}
	return processURLKey()
}

var processURLKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	return k
})

type layerDownloader struct {
	s   *Service
	now func() time.Time
}

func (h *layerDownloader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, DownloadPathPrefix)
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 || i == len(rest)-1 {
		http.NotFound(w, r)
		return
	}
	repo, dgstStr := rest[:i], rest[i+1:]
	q := r.URL.Query()
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	sig, sigErr := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || sigErr != nil {
		http.Error(w, "Request is not signed", http.StatusForbidden)
		return
	}
	if !hmac.Equal(sig, h.s.downloadMAC(repo, dgstStr, expires)) {
		http.Error(w, "The request signature does not match", http.StatusForbidden)
		return
	}
	if h.now().Unix() > expires {
		http.Error(w, "Request has expired", http.StatusForbidden)
		return
	}
	dgst, err := registry.ParseDigest(dgstStr)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	rc, info, err := h.s.core.OpenBlob(r.Context(), repo, dgst)
	if err != nil {
		switch registry.KindOf(err) {
		case registry.KindBlobUnknown, registry.KindNameUnknown, registry.KindNameInvalid:
			http.NotFound(w, r)
		default:
			h.s.log.ErrorContext(r.Context(), "serve layer download", "repository", repo, "digest", dgst, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("ETag", `"`+info.Digest.String()+`"`)
	hdr.Set("Docker-Content-Digest", info.Digest.String())
	hdr.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(expires-h.now().Unix(), 0), 10))
	http.ServeContent(w, r, "", time.Time{}, rc)
}
