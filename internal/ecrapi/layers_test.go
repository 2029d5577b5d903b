package ecrapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/registry"
)

// layerEnv is a testEnv whose server also mounts the layer download handler
// at DownloadPathPrefix, as the berth server does, with a configured
// URLSigningKey.
type layerEnv struct {
	*testEnv
	downloads *layerDownloader
	// skew is added to the download handler's clock (expiry tests).
	skew atomic.Int64
}

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var testURLKey = []byte("test url signing key, 32 bytes!!")

func newLayerEnv(t *testing.T, opts ...testEnvOption) *layerEnv {
	t.Helper()
	base := newTestEnv(t, opts...)
	env := &layerEnv{}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	o := Options{
		AccountID: testAccount, Region: testRegion, PublicURL: srv.URL,
		Tokens: base.Tokens, URLSigningKey: testURLKey,
	}
	api, err := NewHandler(base.Core, o, &auth.Verifier{Keys: base.Keys, Region: testRegion})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	dl, err := NewDownloadHandler(base.Core, o)
	if err != nil {
		t.Fatalf("NewDownloadHandler: %v", err)
	}
	env.downloads = dl.(*layerDownloader)
	env.downloads.now = func() time.Time { return time.Now().Add(time.Duration(env.skew.Load())) }
	mux.Handle(DownloadPathPrefix, dl)
	mux.Handle("/", api)

	// Point the environment at this server (the one newTestEnv started
	// stays idle); the core, its clock and the keys are shared.
	base.Server, base.URL = srv, srv.URL
	base.Client = base.newClient(testAKID, testSecret)
	env.testEnv = base
	return env
}

func (e *layerEnv) createRepo(t *testing.T, name string) {
	t.Helper()
	if _, err := e.Core.CreateRepository(context.Background(), name, registry.RepositorySettings{}); err != nil {
		t.Fatalf("create repository %s: %v", name, err)
	}
}

// pushLayer uploads data as one layer through the SDK.
func (e *layerEnv) pushLayer(t *testing.T, repo string, data []byte) digest.Digest {
	t.Helper()
	ctx := context.Background()
	up, err := e.Client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatalf("InitiateLayerUpload: %v", err)
	}
	if _, err := e.Client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{
		RepositoryName: aws.String(repo), UploadId: up.UploadId, LayerPartBlob: data,
		PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(int64(len(data) - 1)),
	}); err != nil {
		t.Fatalf("UploadLayerPart: %v", err)
	}
	d := digest.FromBytes(data)
	if _, err := e.Client.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{
		RepositoryName: aws.String(repo), UploadId: up.UploadId, LayerDigests: []string{d.String()},
	}); err != nil {
		t.Fatalf("CompleteLayerUpload: %v", err)
	}
	return d
}

func randomLayer(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func fetchDownload(t *testing.T, method, u string, hdr http.Header) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

// TestLayerPushInPartsSDK pushes a layer in three parts through the SDK,
// checks its availability, and downloads it through the presigned URL.
func TestLayerPushInPartsSDK(t *testing.T) {
	env := newLayerEnv(t)
	ctx := context.Background()
	const repo = "team/app"
	env.createRepo(t, repo)
	data := randomLayer(t, 3*1000+17)
	dgst := digest.FromBytes(data)
	missing := digest.FromString("not pushed")

	up, err := env.Client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{
		RepositoryName: aws.String(repo), RegistryId: aws.String(testAccount),
	})
	if err != nil {
		t.Fatalf("InitiateLayerUpload: %v", err)
	}
	if aws.ToInt64(up.PartSize) != 10485760 {
		t.Errorf("partSize = %d, want 10485760", aws.ToInt64(up.PartSize))
	}
	if !uploadIDPattern.MatchString(aws.ToString(up.UploadId)) {
		t.Errorf("uploadId = %q, want a UUID", aws.ToString(up.UploadId))
	}

	parts := [][2]int{{0, 1000}, {1000, 2000}, {2000, len(data)}}
	for _, p := range parts {
		out, err := env.Client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{
			RepositoryName: aws.String(repo), UploadId: up.UploadId, LayerPartBlob: data[p[0]:p[1]],
			PartFirstByte: aws.Int64(int64(p[0])), PartLastByte: aws.Int64(int64(p[1] - 1)),
		})
		if err != nil {
			t.Fatalf("UploadLayerPart %v: %v", p, err)
		}
		if got := aws.ToInt64(out.LastByteReceived); got != int64(p[1]-1) {
			t.Errorf("part %v: lastByteReceived = %d, want %d", p, got, p[1]-1)
		}
		if aws.ToString(out.RegistryId) != testAccount || aws.ToString(out.RepositoryName) != repo || aws.ToString(out.UploadId) != aws.ToString(up.UploadId) {
			t.Errorf("part %v: output = %+v", p, out)
		}
	}

	// Not available before completion.
	chk, err := env.Client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String(repo), LayerDigests: []string{dgst.String()},
	})
	if err != nil {
		t.Fatalf("BatchCheckLayerAvailability: %v", err)
	}
	if len(chk.Layers) != 0 || len(chk.Failures) != 1 || chk.Failures[0].FailureCode != types.LayerFailureCodeMissingLayerDigest {
		t.Fatalf("before completion: layers %+v failures %+v", chk.Layers, chk.Failures)
	}

	done, err := env.Client.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{
		RepositoryName: aws.String(repo), UploadId: up.UploadId, LayerDigests: []string{dgst.String()},
	})
	if err != nil {
		t.Fatalf("CompleteLayerUpload: %v", err)
	}
	if aws.ToString(done.LayerDigest) != dgst.String() || aws.ToString(done.RegistryId) != testAccount ||
		aws.ToString(done.RepositoryName) != repo || aws.ToString(done.UploadId) != aws.ToString(up.UploadId) {
		t.Errorf("CompleteLayerUpload output = %+v", done)
	}
	if info, err := env.Core.StatBlob(ctx, repo, dgst); err != nil || info.Size != int64(len(data)) {
		t.Fatalf("core StatBlob = %+v, %v", info, err)
	}

	chk, err = env.Client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
		RepositoryName: aws.String(repo),
		LayerDigests:   []string{dgst.String(), missing.String(), "sha256:abc", "not-a-digest"},
	})
	if err != nil {
		t.Fatalf("BatchCheckLayerAvailability: %v", err)
	}
	if len(chk.Layers) != 1 {
		t.Fatalf("layers = %+v", chk.Layers)
	}
	l := chk.Layers[0]
	if aws.ToString(l.LayerDigest) != dgst.String() || l.LayerAvailability != types.LayerAvailabilityAvailable || aws.ToInt64(l.LayerSize) != int64(len(data)) {
		t.Errorf("layer = %+v", l)
	}
	wantFailures := map[string]types.LayerFailureCode{
		missing.String(): types.LayerFailureCodeMissingLayerDigest,
		"sha256:abc":     types.LayerFailureCodeInvalidLayerDigest,
		"not-a-digest":   types.LayerFailureCodeInvalidLayerDigest,
	}
	if len(chk.Failures) != len(wantFailures) {
		t.Fatalf("failures = %+v", chk.Failures)
	}
	for _, f := range chk.Failures {
		if want, ok := wantFailures[aws.ToString(f.LayerDigest)]; !ok || f.FailureCode != want || aws.ToString(f.FailureReason) == "" {
			t.Errorf("failure %s = %s (%q), want %s", aws.ToString(f.LayerDigest), f.FailureCode, aws.ToString(f.FailureReason), want)
		}
	}

	// Download through the presigned URL: a plain, unauthenticated GET.
	dl, err := env.Client.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{
		RepositoryName: aws.String(repo), LayerDigest: aws.String(dgst.String()),
	})
	if err != nil {
		t.Fatalf("GetDownloadUrlForLayer: %v", err)
	}
	if aws.ToString(dl.LayerDigest) != dgst.String() {
		t.Errorf("layerDigest = %q", aws.ToString(dl.LayerDigest))
	}
	u := aws.ToString(dl.DownloadUrl)
	if want := env.URL + DownloadPathPrefix + repo + "/" + dgst.String() + "?"; !strings.HasPrefix(u, want) {
		t.Fatalf("downloadUrl = %q, want prefix %q", u, want)
	}
	status, body, hdr := fetchDownload(t, http.MethodGet, u, nil)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET download: %d, %d bytes (want %d)", status, len(body), len(data))
	}
	if hdr.Get("Content-Length") != strconv.Itoa(len(data)) || hdr.Get("Docker-Content-Digest") != dgst.String() {
		t.Errorf("GET download headers: %v", hdr)
	}
	status, body, _ = fetchDownload(t, http.MethodGet, u, http.Header{"Range": {"bytes=10-19"}})
	if status != http.StatusPartialContent || !bytes.Equal(body, data[10:20]) {
		t.Errorf("ranged GET: %d %x", status, body)
	}
	if status, body, _ = fetchDownload(t, http.MethodHead, u, nil); status != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %d, %d bytes", status, len(body))
	}

	// After the URL's lifetime it no longer works.
	env.skew.Store(int64(DownloadURLLifetime + time.Minute))
	if status, _, _ := fetchDownload(t, http.MethodGet, u, nil); status != http.StatusForbidden {
		t.Errorf("GET after expiry: %d, want 403", status)
	}
	env.skew.Store(int64(DownloadURLLifetime - time.Minute))
	if status, _, _ := fetchDownload(t, http.MethodGet, u, nil); status != http.StatusOK {
		t.Errorf("GET just before expiry: %d, want 200", status)
	}
	env.skew.Store(0)

	// Tampering with any signed part fails.
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	other := env.pushLayer(t, repo, []byte("another layer"))
	env.createRepo(t, "team/other")
	env.pushLayer(t, "team/other", data)
	tamper := []struct {
		name string
		edit func(u *url.URL)
	}{
		{"other digest", func(u *url.URL) { u.Path = strings.Replace(u.Path, dgst.String(), other.String(), 1) }},
		{"other repository", func(u *url.URL) { u.Path = strings.Replace(u.Path, repo, "team/other", 1) }},
		{"later expiry", func(u *url.URL) {
			q := u.Query()
			exp, _ := strconv.ParseInt(q.Get("expires"), 10, 64)
			q.Set("expires", strconv.FormatInt(exp+3600, 10))
			u.RawQuery = q.Encode()
		}},
		{"flipped signature", func(u *url.URL) {
			q := u.Query()
			sig := []byte(q.Get("sig"))
			sig[0] ^= 1
			q.Set("sig", string(sig))
			u.RawQuery = q.Encode()
		}},
		{"no signature", func(u *url.URL) { q := u.Query(); q.Del("sig"); u.RawQuery = q.Encode() }},
		{"no expiry", func(u *url.URL) { q := u.Query(); q.Del("expires"); u.RawQuery = q.Encode() }},
		{"no query", func(u *url.URL) { u.RawQuery = "" }},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			v := *parsed
			tc.edit(&v)
			if status, body, _ := fetchDownload(t, http.MethodGet, v.String(), nil); status != http.StatusForbidden {
				t.Errorf("GET %s: %d %q, want 403", v.String(), status, body)
			}
		})
	}
}

// TestLayerErrorsSDK checks each exception of the layer operations through
// the SDK.
func TestLayerErrorsSDK(t *testing.T) {
	env := newLayerEnv(t)
	ctx := context.Background()
	const repo = "errs/app"
	env.createRepo(t, repo)
	env.createRepo(t, "errs/other")
	existing := env.pushLayer(t, repo, []byte("existing layer"))
	unknownUpload := "0b0e7a39-9a51-4a0d-9d0c-000000000000"

	initiate := func(t *testing.T, repo string) string {
		t.Helper()
		out, err := env.Client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
		if err != nil {
			t.Fatalf("InitiateLayerUpload: %v", err)
		}
		return aws.ToString(out.UploadId)
	}
	part := func(repo, id string, first, last int64, blob []byte) error {
		_, err := env.Client.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{
			RepositoryName: aws.String(repo), UploadId: aws.String(id), LayerPartBlob: blob,
			PartFirstByte: aws.Int64(first), PartLastByte: aws.Int64(last),
		})
		return err
	}
	complete := func(repo, id string, d string) error {
		_, err := env.Client.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{
			RepositoryName: aws.String(repo), UploadId: aws.String(id), LayerDigests: []string{d},
		})
		return err
	}
	uploadNotFound := func(t *testing.T, err error) {
		t.Helper()
		if _, ok := asAPIError[*types.UploadNotFoundException](err); !ok {
			t.Fatalf("err = %v, want UploadNotFoundException", err)
		}
	}
	repoNotFound := func(t *testing.T, err error) {
		t.Helper()
		e, ok := asAPIError[*types.RepositoryNotFoundException](err)
		if !ok {
			t.Fatalf("err = %v, want RepositoryNotFoundException", err)
		}
		if want := "The repository with name 'errs/missing' does not exist in the registry with id '" + testAccount + "'"; e.ErrorMessage() != want {
			t.Errorf("message = %q, want %q", e.ErrorMessage(), want)
		}
	}
	invalidPart := func(t *testing.T, err error, id string, lastValid int64) {
		t.Helper()
		e, ok := asAPIError[*types.InvalidLayerPartException](err)
		if !ok {
			t.Fatalf("err = %v, want InvalidLayerPartException", err)
		}
		if aws.ToString(e.RegistryId) != testAccount || aws.ToString(e.RepositoryName) != repo ||
			aws.ToString(e.UploadId) != id || e.LastValidByteReceived == nil || *e.LastValidByteReceived != lastValid || e.ErrorMessage() == "" {
			t.Errorf("InvalidLayerPartException = %+v (lastValid %v), want lastValidByteReceived %d", e, aws.ToInt64(e.LastValidByteReceived), lastValid)
		}
	}

	tests := []struct {
		name  string
		run   func(t *testing.T) error
		check func(t *testing.T, err error)
	}{
		{"initiate: missing repository", func(t *testing.T) error {
			_, err := env.Client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("errs/missing")})
			return err
		}, repoNotFound},
		{"initiate: other registry", func(t *testing.T) error {
			_, err := env.Client.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{
				RepositoryName: aws.String(repo), RegistryId: aws.String("210987654321"),
			})
			return err
		}, func(t *testing.T, err error) {
			if _, ok := asAPIError[*types.InvalidParameterException](err); !ok {
				t.Fatalf("err = %v, want InvalidParameterException", err)
			}
		}},
		{"part: unknown upload", func(t *testing.T) error {
			return part(repo, unknownUpload, 0, 2, []byte("abc"))
		}, uploadNotFound},
		{"part: upload of another repository", func(t *testing.T) error {
			return part("errs/other", initiate(t, repo), 0, 2, []byte("abc"))
		}, uploadNotFound},
		{"part: missing repository", func(t *testing.T) error {
			return part("errs/missing", unknownUpload, 0, 2, []byte("abc"))
		}, repoNotFound},
		{"part: first part not at byte 0", func(t *testing.T) error {
			id := initiate(t, repo)
			err := part(repo, id, 5, 7, []byte("abc"))
			invalidPart(t, err, id, -1)
			return nil
		}, nil},
		{"part: gap after a part", func(t *testing.T) error {
			id := initiate(t, repo)
			if err := part(repo, id, 0, 2, []byte("abc")); err != nil {
				t.Fatal(err)
			}
			invalidPart(t, part(repo, id, 4, 6, []byte("def")), id, 2)
			// Resending the same part is not consecutive either.
			invalidPart(t, part(repo, id, 0, 2, []byte("abc")), id, 2)
			// The upload goes on from the right byte.
			if err := part(repo, id, 3, 5, []byte("def")); err != nil {
				t.Fatalf("consecutive part after a refused one: %v", err)
			}
			return complete(repo, id, digest.FromString("abcdef").String())
		}, func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("complete after refused parts: %v", err)
			}
		}},
		{"part: length differs from the byte range", func(t *testing.T) error {
			id := initiate(t, repo)
			if err := part(repo, id, 0, 2, []byte("abc")); err != nil {
				t.Fatal(err)
			}
			invalidPart(t, part(repo, id, 3, 9, []byte("def")), id, 2)
			invalidPart(t, part(repo, id, 3, 4, []byte("def")), id, 2)
			invalidPart(t, part(repo, id, 3, 2, []byte{}), id, 2)
			return nil
		}, nil},
		{"part: bad length on an unknown upload", func(t *testing.T) error {
			return part(repo, unknownUpload, 0, 9, []byte("abc"))
		}, uploadNotFound},
		{"complete: unknown upload", func(t *testing.T) error {
			return complete(repo, unknownUpload, existing.String())
		}, uploadNotFound},
		{"complete: missing repository", func(t *testing.T) error {
			return complete("errs/missing", unknownUpload, existing.String())
		}, repoNotFound},
		{"complete: empty upload", func(t *testing.T) error {
			return complete(repo, initiate(t, repo), digest.FromString("").String())
		}, func(t *testing.T, err error) {
			if _, ok := asAPIError[*types.EmptyUploadException](err); !ok {
				t.Fatalf("err = %v, want EmptyUploadException", err)
			}
		}},
		{"complete: digest mismatch ends the upload", func(t *testing.T) error {
			id := initiate(t, repo)
			if err := part(repo, id, 0, 2, []byte("xyz")); err != nil {
				t.Fatal(err)
			}
			err := complete(repo, id, digest.FromString("abc").String())
			if _, ok := asAPIError[*types.InvalidLayerException](err); !ok {
				t.Fatalf("err = %v, want InvalidLayerException", err)
			}
			if _, err := env.Core.StatBlob(ctx, repo, digest.FromString("xyz")); registry.KindOf(err) != registry.KindBlobUnknown {
				t.Errorf("mismatched content was stored: %v", err)
			}
			return complete(repo, id, digest.FromString("xyz").String())
		}, uploadNotFound},
		{"complete: malformed digest", func(t *testing.T) error {
			id := initiate(t, repo)
			if err := part(repo, id, 0, 2, []byte("xyz")); err != nil {
				t.Fatal(err)
			}
			return complete(repo, id, "sha256:abc")
		}, func(t *testing.T, err error) {
			if _, ok := asAPIError[*types.InvalidLayerException](err); !ok {
				t.Fatalf("err = %v, want InvalidLayerException", err)
			}
		}},
		{"complete: layer already in the repository", func(t *testing.T) error {
			id := initiate(t, repo)
			if err := part(repo, id, 0, 13, []byte("existing layer")); err != nil {
				t.Fatal(err)
			}
			err := complete(repo, id, existing.String())
			if _, ok := asAPIError[*types.LayerAlreadyExistsException](err); !ok {
				t.Fatalf("err = %v, want LayerAlreadyExistsException", err)
			}
			// The session was cancelled.
			return part(repo, id, 14, 14, []byte("x"))
		}, uploadNotFound},
		{"complete: layer present only in another repository is linked", func(t *testing.T) error {
			id := initiate(t, "errs/other")
			if err := part("errs/other", id, 0, 13, []byte("existing layer")); err != nil {
				t.Fatal(err)
			}
			if err := complete("errs/other", id, existing.String()); err != nil {
				return err
			}
			_, err := env.Core.StatBlob(ctx, "errs/other", existing)
			return err
		}, func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("err = %v, want success", err)
			}
		}},
		{"check: missing repository", func(t *testing.T) error {
			_, err := env.Client.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{
				RepositoryName: aws.String("errs/missing"), LayerDigests: []string{existing.String()},
			})
			return err
		}, repoNotFound},
		{"download url: missing layer", func(t *testing.T) error {
			_, err := env.Client.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{
				RepositoryName: aws.String(repo), LayerDigest: aws.String(digest.FromString("nope").String()),
			})
			return err
		}, func(t *testing.T, err error) {
			e, ok := asAPIError[*types.LayersNotFoundException](err)
			if !ok {
				t.Fatalf("err = %v, want LayersNotFoundException", err)
			}
			want := "The layer with digest " + digest.FromString("nope").String() + " does not exist within the repository with name '" + repo + "' in the registry with id '" + testAccount + "'"
			if e.ErrorMessage() != want {
				t.Errorf("message = %q, want %q", e.ErrorMessage(), want)
			}
		}},
		{"download url: missing repository", func(t *testing.T) error {
			_, err := env.Client.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{
				RepositoryName: aws.String("errs/missing"), LayerDigest: aws.String(existing.String()),
			})
			return err
		}, repoNotFound},
		{"download url: malformed digest", func(t *testing.T) error {
			_, err := env.Client.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{
				RepositoryName: aws.String(repo), LayerDigest: aws.String("sha256:abc"),
			})
			return err
		}, func(t *testing.T, err error) {
			if _, ok := asAPIError[*types.InvalidParameterException](err); !ok {
				t.Fatalf("err = %v, want InvalidParameterException", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

// TestLayerUploadCreateOnPush: with create-on-push, InitiateLayerUpload
// creates the repository, as the core decides.
func TestLayerUploadCreateOnPush(t *testing.T) {
	env := newLayerEnv(t, withCreateOnPush())
	d := env.pushLayer(t, "new/repo", []byte("layer"))
	if _, err := env.Core.StatBlob(context.Background(), "new/repo", d); err != nil {
		t.Fatal(err)
	}
}

// TestDownloadHandler checks the download handler's refusals directly.
func TestDownloadHandler(t *testing.T) {
	env := newLayerEnv(t)
	ctx := context.Background()
	env.createRepo(t, "dl/app")
	data := []byte("layer bytes")
	dgst := env.pushLayer(t, "dl/app", data)
	svc := env.downloads.s
	now := time.Unix(1_800_000_000, 0)
	env.downloads.now = func() time.Time { return now }
	missing := digest.FromString("missing")
	if _, err := env.Core.StatBlob(ctx, "dl/app", missing); registry.KindOf(err) != registry.KindBlobUnknown {
		t.Fatal(err)
	}
	otherKey := &Service{opts: Options{PublicURL: env.URL, URLSigningKey: []byte("another key")}}

	tests := []struct {
		name   string
		method string
		url    string
		status int
	}{
		{"valid", http.MethodGet, svc.downloadURL("dl/app", dgst, now), http.StatusOK},
		{"valid at the last second", http.MethodGet, svc.downloadURL("dl/app", dgst, now.Add(-DownloadURLLifetime)), http.StatusOK},
		{"expired", http.MethodGet, svc.downloadURL("dl/app", dgst, now.Add(-DownloadURLLifetime-time.Second)), http.StatusForbidden},
		{"signed with another key", http.MethodGet, otherKey.downloadURL("dl/app", dgst, now), http.StatusForbidden},
		{"signed but missing blob", http.MethodGet, svc.downloadURL("dl/app", missing, now), http.StatusNotFound},
		{"signed but missing repository", http.MethodGet, svc.downloadURL("dl/gone", dgst, now), http.StatusNotFound},
		{"post", http.MethodPost, svc.downloadURL("dl/app", dgst, now), http.StatusMethodNotAllowed},
		{"no digest", http.MethodGet, env.URL + DownloadPathPrefix + "dl/app/", http.StatusNotFound},
		{"no repository", http.MethodGet, env.URL + DownloadPathPrefix + dgst.String(), http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := fetchDownload(t, tc.method, tc.url, nil)
			if status != tc.status {
				t.Fatalf("%s %s: %d %q, want %d", tc.method, tc.url, status, body, tc.status)
			}
			if status == http.StatusOK && !bytes.Equal(body, data) {
				t.Errorf("body = %q", body)
			}
		})
	}
}
