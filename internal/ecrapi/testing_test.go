package ecrapi

// Shared helpers for the ECR API integration tests: the real core on real
// stores (SQLite metadata, filesystem blobs) in a temporary directory, the
// real ECR handler with a real SigV4 verifier, served by httptest and called
// with the AWS SDK for Go v2 ECR client.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/registry"
)

// testRegion is the region of the test server and its SDK client.
const testRegion = "us-east-1"

// testEnv is a running ECR API over the real core.
type testEnv struct {
	// Core is the domain core behind the handler (use it to arrange state,
	// e.g. push images, and to check effects).
	Core *registry.Registry
	// Client is an SDK ECR client signed with the test key (testAKID).
	Client *ecr.Client
	// URL is the httptest server URL (also the PublicURL).
	URL string
	// AccountID is the registry id (testAccount).
	AccountID string

	// Region is the server's and client's region.
	Region string
	// Meta and Blobs are the stores under Core.
	Meta  *sqlite.Store
	Blobs *fs.Store
	// Tokens mints and verifies login tokens (GetAuthorizationToken).
	Tokens *auth.LoginTokens
	// Keys are the access keys the verifier knows; tests may add keys
	// before making requests with them.
	Keys staticKeys
	// Server is the httptest server.
	Server *httptest.Server
	// Now is the core's clock; nil means time.Now. Set it to control
	// timestamps (createdAt, pushedAt).
	Now func() time.Time
}

// testEnvOption tweaks the environment before it is built.
type testEnvOption func(*testEnvConfig)

type testEnvConfig struct {
	core registry.Config
}

// withCreateOnPush makes the core create repositories on first push.
func withCreateOnPush() testEnvOption {
	return func(c *testEnvConfig) { c.core.CreateOnPush = true }
}

// newTestEnv builds the stores, core, handler, server and SDK client. All of
// it is closed when the test ends.
func newTestEnv(t *testing.T, opts ...testEnvOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	logs := &testLogWriter{t: t}
	t.Cleanup(func() { logs.done.Store(true) }) // runs last: no t.Log after the test
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, dir+"/meta.db")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fs.New(dir + "/blobs")
	if err != nil {
		t.Fatalf("open blob store: %v", err)
	}

	env := &testEnv{AccountID: testAccount, Region: testRegion, Meta: m, Blobs: b}
	cfg := testEnvConfig{core: registry.Config{RegistryID: testAccount}}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.core.Now = func() time.Time {
		if env.Now != nil {
			return env.Now()
		}
		return time.Now()
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env.Core = registry.New(m, b, cfg.core, logger)

	env.Keys = staticKeys{testAKID: {
		ID: testAKID, Secret: testSecret, Status: auth.KeyActive,
		Owner: auth.Principal{
			ARN: "arn:aws:iam::" + testAccount + ":root", AccountID: testAccount, IsRoot: true,
		},
	}}
	env.Tokens, err = auth.NewLoginTokens([]byte("0123456789abcdef0123456789abcdef"), env.Keys)
	if err != nil {
		t.Fatalf("login tokens: %v", err)
	}

	// The handler needs the public URL before the server exists: start the
	// server unstarted, then install the handler.
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	env.Server, env.URL = srv, srv.URL

	h, err = NewHandler(env.Core, Options{
		AccountID: testAccount, Region: testRegion, PublicURL: srv.URL,
		Tokens: env.Tokens, Logger: logger,
	}, &auth.Verifier{Keys: env.Keys, Region: testRegion})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	env.Client = env.newClient(testAKID, testSecret)
	return env
}

// newClient returns an SDK ECR client for the environment's server signed
// with the given key.
func (e *testEnv) newClient(akid, secret string) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       e.Region,
		BaseEndpoint: aws.String(e.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		HTTPClient:   e.Server.Client(),
		// Errors must reach the test at once, not after retries.
		RetryMaxAttempts: 1,
	})
}

// pushImage pushes a one-layer OCI image to repo (which must exist unless
// the environment creates on push) through the core, tagged tag ("" for
// none), and returns its manifest digest. seed makes the content unique.
func (e *testEnv) pushImage(t *testing.T, repo, tag, seed string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer-" + seed)
	for _, b := range [][]byte{cfg, layer} {
		if _, err := e.Core.PutBlob(ctx, repo, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatalf("PutBlob: %v", err)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		registry.MediaTypeOCIManifest, digest.FromBytes(cfg), len(cfg), digest.FromBytes(layer), len(layer))
	ref := tag
	if ref == "" {
		ref = digest.FromString(manifest).String()
	}
	res, err := e.Core.PutManifest(ctx, repo, ref, registry.MediaTypeOCIManifest, []byte(manifest), nil)
	if err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	return res.Digest
}

// call sends a signed raw ECR request (body marshalled to JSON) and returns
// the status and the decoded response body, for asserting exact output
// shapes (omitted members, number formats) the SDK would hide.
func (e *testEnv) call(t *testing.T, op string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, e.URL+"/", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
	sum := sha256.Sum256(b)
	err = v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		r, hex.EncodeToString(sum[:]), SigningService, e.Region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.Server.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: decode response: %v", op, err)
	}
	return resp.StatusCode, out
}

// testLogWriter sends log output to t.Log until the test is over.
type testLogWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(string(p))
	}
	return len(p), nil
}

// asAPIError is errors.As for a value type, e.g.
// asAPIError[*types.RepositoryNotFoundException](err).
func asAPIError[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}
