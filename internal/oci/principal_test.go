package oci

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// pullsByPrincipal is a fake core that tells pulls apart by principal.
type pullsByPrincipal struct {
	*fakeCore
	mu    sync.Mutex
	pulls []string // repo@digest by arn
}

func (p *pullsByPrincipal) RecordPullBy(repo string, dgst digest.Digest, arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pulls = append(p.pulls, repo+"@"+dgst.String()+" by "+arn)
}

func TestManifestPullRecordsPrincipal(t *testing.T) {
	core := &pullsByPrincipal{fakeCore: newFakeCore()}
	const arn = "arn:aws:iam::123456789012:user/robot"
	h := newHandler(core, Options{
		Logger: slog.New(slog.DiscardHandler),
		Authorize: func(*http.Request, Access) (Caller, error) {
			return Caller{PrincipalARN: arn}, nil
		},
	})
	content := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	res, err := core.PutManifest(context.Background(), "team/app", "v1", "application/vnd.oci.image.manifest.v1+json", content, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/v2/team/app/manifests/v1", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", method, rec.Code, rec.Body)
		}
	}
	want := "team/app@" + res.Digest.String() + " by " + arn
	if len(core.pulls) != 1 || core.pulls[0] != want {
		t.Fatalf("pulls = %q, want [%q] (GET only)", core.pulls, want)
	}
}
