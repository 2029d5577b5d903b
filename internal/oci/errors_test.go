package oci

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

func TestErrorTable(t *testing.T) {
	tests := []struct {
		kind   registry.Kind
		status int
		code   string
	}{
		{registry.KindInternal, 500, "UNKNOWN"},
		{registry.KindNameInvalid, 400, "NAME_INVALID"},
		{registry.KindNameUnknown, 404, "NAME_UNKNOWN"},
		{registry.KindTagInvalid, 400, "TAG_INVALID"},
		{registry.KindDigestInvalid, 400, "DIGEST_INVALID"},
		{registry.KindBlobUnknown, 404, "BLOB_UNKNOWN"},
		{registry.KindBlobUploadUnknown, 404, "BLOB_UPLOAD_UNKNOWN"},
		{registry.KindBlobUploadInvalid, 400, "BLOB_UPLOAD_INVALID"},
		{registry.KindRangeInvalid, 416, "BLOB_UPLOAD_INVALID"},
		{registry.KindSizeInvalid, 400, "SIZE_INVALID"},
		{registry.KindManifestUnknown, 404, "MANIFEST_UNKNOWN"},
		{registry.KindManifestInvalid, 400, "MANIFEST_INVALID"},
		{registry.KindManifestBlobUnknown, 400, "MANIFEST_BLOB_UNKNOWN"},
		{registry.KindManifestTooLarge, 413, "MANIFEST_INVALID"},
		{registry.KindUnsupported, 400, "UNSUPPORTED"},
		{registry.KindTagImmutable, 400, "TAG_INVALID"},
		{registry.KindRepositoryExists, 409, "UNSUPPORTED"},
		{registry.KindRepositoryNotEmpty, 409, "UNSUPPORTED"},
		{registry.KindReferencedByIndex, 409, "UNSUPPORTED"},
		{registry.KindDenied, 403, "DENIED"},
		{registry.KindInvalidParameter, 400, "UNSUPPORTED"},
		{registry.KindUnavailable, 503, "UNAVAILABLE"},
	}
	covered := map[registry.Kind]bool{}
	for _, tt := range tests {
		covered[tt.kind] = true
		h := newHandler(newFakeCore(), Options{Logger: slog.New(slog.DiscardHandler)})
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v2/x/manifests/y", nil)
		h.fail(rec, req, &registry.Error{Kind: tt.kind, Message: "core says no", Detail: map[string]string{"k": "v"}, Err: errors.New("secret cause /var/lib/x")})
		if rec.Code != tt.status {
			t.Errorf("kind %d: status %d, want %d", tt.kind, rec.Code, tt.status)
		}
		body := decodeError(t, rec.Body)
		if body.Code != tt.code {
			t.Errorf("kind %d: code %q, want %q", tt.kind, body.Code, tt.code)
		}
		if strings.Contains(rec.Body.String(), "secret cause") {
			t.Errorf("kind %d: the wrapped cause leaked: %s", tt.kind, rec.Body.String())
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("kind %d: Content-Type %q", tt.kind, got)
		}
		switch tt.kind {
		case registry.KindInternal:
			if body.Message != "internal server error" || body.Detail != nil {
				t.Errorf("internal error leaked message %q detail %v", body.Message, body.Detail)
			}
		default:
			if body.Message != "core says no" || body.Detail == nil {
				t.Errorf("kind %d: message %q detail %v, want the core's", tt.kind, body.Message, body.Detail)
			}
		}
		if tt.kind == registry.KindUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	// Every kind the core defines is in the table (kinds are consecutive).
	for k := registry.KindInternal; k <= registry.KindUnavailable; k++ {
		if _, ok := errorTable[k]; !ok {
			t.Errorf("kind %d has no wire mapping", k)
		}
		if !covered[k] {
			t.Errorf("kind %d is not covered by this test", k)
		}
	}
}

func TestFailNonDomainError(t *testing.T) {
	h := newHandler(newFakeCore(), Options{Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	h.fail(rec, httptest.NewRequest(http.MethodGet, "/v2/", nil), errors.New("db at 10.0.0.1 down"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "10.0.0.1") {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestAuthErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		code      string
		challenge string
	}{
		{"unauthorized", Unauthorized(`Basic realm="https://h/",service="ecr.amazonaws.com"`, "authentication required"), 401, "UNAUTHORIZED", `Basic realm="https://h/",service="ecr.amazonaws.com"`},
		{"denied", Denied("not allowed"), 403, "DENIED", ""},
		{"implicit 401", &AuthError{Challenge: "Basic"}, 401, "UNAUTHORIZED", "Basic"},
		{"implicit 403", &AuthError{}, 403, "DENIED", ""},
		{"wrapped", errors.Join(errors.New("ctx"), Denied("no")), 403, "DENIED", ""},
		{"core denied", registry.Errorf(registry.KindDenied, "no"), 403, "DENIED", ""},
		{"hook failure", errors.New("policy store down"), 500, "UNKNOWN", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Access
			h := newHandler(newFakeCore(), Options{
				Logger: slog.New(slog.DiscardHandler),
				Authorize: callerOf(func(r *http.Request, a Access) error {
					got = a
					return tt.err
				}),
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/a/b/manifests/latest", nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if c := decodeError(t, rec.Body).Code; c != tt.code {
				t.Fatalf("code %q, want %q", c, tt.code)
			}
			if c := rec.Header().Get("WWW-Authenticate"); c != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", c, tt.challenge)
			}
			if got.Repository != "a/b" || len(got.Actions) != 1 || got.Actions[0] != ActionPull {
				t.Fatalf("hook asked for %+v", got)
			}
		})
	}
}

type decodedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail"`
}

func decodeError(t *testing.T, r io.Reader) decodedError {
	t.Helper()
	var body struct {
		Errors []decodedError `json:"errors"`
	}
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if len(body.Errors) != 1 {
		t.Fatalf("want one error, got %+v", body.Errors)
	}
	return body.Errors[0]
}
