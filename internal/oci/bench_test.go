package oci

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a reusable ResponseWriter, so the benchmark counts the
// adapter's allocations, not a recorder's.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkManifest measures the adapter's manifest GET and HEAD by tag
// (routing, the authorization hook, headers) over an in-memory core.
func BenchmarkManifest(b *testing.B) {
	c := newFakeCore()
	h := newHandler(c, Options{
		Logger:    slog.New(slog.DiscardHandler),
		Authorize: callerOf(func(*http.Request, Access) error { return nil }),
	})
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	res, err := c.PutManifest(context.Background(), "team/app", "latest", "application/vnd.oci.image.manifest.v1+json", raw, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		b.Run(method, func(b *testing.B) {
			req := httptest.NewRequest(method, "/v2/team/app/manifests/latest", nil)
			req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK || w.h.Get("Docker-Content-Digest") != res.Digest.String() {
					b.Fatalf("status %d, digest %q", w.code, w.h.Get("Docker-Content-Digest"))
				}
			}
		})
	}
}
