package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/ecrapi"
	"github.com/berth-registry/berth/internal/oci"
	"github.com/berth-registry/berth/internal/registry"
)

// blobURLTTL is how long a presigned blob URL handed out in a redirect
// stays valid; the client follows the redirect at once.
const blobURLTTL = 15 * time.Minute

// blobRedirects answers GET /v2/<name>/blobs/<digest> with a 307 to a
// presigned blob-store URL, after the same authorization the /v2 adapter
// applies. Anything else, and any failure (unauthenticated, unknown blob,
// store down), goes to next, which serves or refuses the request as usual:
// the redirect is an optimization, never a second set of rules.
func blobRedirects(core *registry.Registry, authorize func(*http.Request, oci.Access) (oci.Caller, error), log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ref, ok := blobGetRoute(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if authorize != nil {
			if _, err := authorize(r, oci.Access{Repository: name, Actions: []string{oci.ActionPull}}); err != nil {
				next.ServeHTTP(w, r)
				return
			}
		}
		dgst, err := registry.ParseDigest(ref)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		u, info, err := core.BlobURL(r.Context(), name, dgst, blobURLTTL)
		if err != nil {
			if !errors.Is(err, registry.ErrNoPresign) && registry.KindOf(err) == registry.KindInternal {
				log.WarnContext(r.Context(), "presign blob; serving it directly", "repository", name, "digest", dgst, "err", err)
			}
			next.ServeHTTP(w, r)
			return
		}
		redirect(w, u, info.Digest.String())
	})
}

// blobGetRoute matches GET /v2/<name>/blobs/<digest>.
func blobGetRoute(r *http.Request) (name, ref string, ok bool) {
	if r.Method != http.MethodGet || oci.RouteName(r.Method, r.URL.Path) != "blob" {
		return "", "", false
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v2/")
	i := strings.LastIndex(rest, "/blobs/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/blobs/"):], true
}

func redirect(w http.ResponseWriter, u, dgst string) {
	h := w.Header()
	h.Set("Location", u)
	h.Set("Docker-Content-Digest", dgst)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// layerURLRedirects answers the GET of a GetDownloadUrlForLayer URL with a
// 307 to a presigned blob-store URL. The URL's signature and the blob are
// checked by next itself: it is first asked for a HEAD of the same URL (no
// body is read or sent), and only a 200 leads to a redirect. Anything else
// goes to next unchanged.
func layerURLRedirects(core *registry.Registry, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("Range") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rest, _ := strings.CutPrefix(r.URL.Path, ecrapi.DownloadPathPrefix)
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		head := r.Clone(r.Context())
		head.Method = http.MethodHead
		rec := &headRecorder{h: http.Header{}}
		next.ServeHTTP(rec, head)
		if rec.status != http.StatusOK {
			next.ServeHTTP(w, r)
			return
		}
		dgst, err := registry.ParseDigest(rest[i+1:])
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		u, info, err := core.BlobURL(r.Context(), rest[:i], dgst, blobURLTTL)
		if err != nil {
			if !errors.Is(err, registry.ErrNoPresign) {
				log.WarnContext(r.Context(), "presign layer; serving it directly", "digest", dgst, "err", err)
			}
			next.ServeHTTP(w, r)
			return
		}
		redirect(w, u, info.Digest.String())
	})
}

// headRecorder is a ResponseWriter that keeps only the status.
type headRecorder struct {
	h      http.Header
	status int
}

func (r *headRecorder) Header() http.Header { return r.h }

func (r *headRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(p), nil
}

func (r *headRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
