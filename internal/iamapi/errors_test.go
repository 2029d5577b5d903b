package iamapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/identity"
)

// TestErrorTable pins IAM's status for each error code the adapter sends.
func TestErrorTable(t *testing.T) {
	cases := []struct {
		code   string
		status int
	}{
		{identity.CodeNoSuchEntity, 404},
		{identity.CodeEntityAlreadyExists, 409},
		{identity.CodeDeleteConflict, 409},
		{identity.CodeLimitExceeded, 409},
		{identity.CodeValidationError, 400},
		{identity.CodeInvalidInput, 400},
		{identity.CodeMalformedPolicyDocument, 400},
		{"AccessDenied", 403},
		{"InvalidAction", 400},
		{"MissingAction", 400},
		{"SomethingNew", 400},
	}
	for _, c := range cases {
		if got := newError(c.code, "m").Status; got != c.status {
			t.Errorf("%s: status %d, want %d", c.code, got, c.status)
		}
	}
}

func TestWriteErrorKinds(t *testing.T) {
	h := &Handler{log: slogDiscard()}
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"identity", &identity.IAMError{Code: identity.CodeDeleteConflict, Message: "x"}, 409, "DeleteConflict"},
		{"wrapped identity", errors.Join(errors.New("ctx"), &identity.IAMError{Code: identity.CodeNoSuchEntity, Message: "x"}), 404, "NoSuchEntity"},
		{"auth", &auth.Error{Code: "InvalidClientTokenId", Status: 403, Message: "x"}, 403, "InvalidClientTokenId"},
		{"internal", errors.New("database on fire"), 500, "ServiceFailure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.writeError(w, httptest.NewRequest("POST", "/", nil), IAMNamespace, "req-1", c.err)
			if w.Code != c.status || !strings.Contains(w.Body.String(), "<Code>"+c.code+"</Code>") {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), "on fire") {
				t.Fatal("internal error text leaked to the client")
			}
		})
	}
}

// TestWriteResultEncodeFailure: a result that cannot be encoded is sent as
// the internal failure writeError sends, never as a half-written document.
func TestWriteResultEncodeFailure(t *testing.T) {
	h := &Handler{log: slogDiscard()}
	w := httptest.NewRecorder()
	h.writeResult(w, httptest.NewRequest("POST", "/", nil), IAMNamespace, "ListUsers", make(chan int), "req-1")
	body := w.Body.String()
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), body)
	}
	for _, want := range []string{
		`<ErrorResponse xmlns="` + IAMNamespace + `"><Error><Type>Receiver</Type><Code>ServiceFailure</Code>`,
		`<RequestId>req-1</RequestId></ErrorResponse>`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("body %s\ndoes not contain %s", body, want)
		}
	}
	if strings.Contains(body, "ListUsersResponse") || strings.Contains(body, "chan") {
		t.Fatalf("partial result or internal detail sent: %s", body)
	}
}

func TestRootOnly(t *testing.T) {
	root := &auth.Principal{ARN: "arn:aws:iam::123456789012:root", IsRoot: true}
	user := &auth.Principal{ARN: "arn:aws:iam::123456789012:user/alice", UserName: "alice"}
	ctx := context.Background()
	if err := RootOnly(ctx, root, "iam:CreateUser", "arn:aws:iam::123456789012:user/bob"); err != nil {
		t.Fatal(err)
	}
	if err := RootOnly(ctx, user, "sts:GetCallerIdentity", "*"); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := RootOnly(ctx, user, "iam:GetUser", "arn:aws:iam::123456789012:user/alice"); !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != "AccessDenied" {
		t.Fatalf("user GetUser: %v", err)
	}
}

func TestScopeService(t *testing.T) {
	cases := map[string]string{
		"AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00": "iam",
		"AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/sts/aws4_request,SignedHeaders=host":                "sts",
		"AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/sts":                                                "",
		"Basic abc":              "",
		"":                       "",
		"Credential=a/b/c/d/e/f": "",
	}
	for in, want := range cases {
		if got := scopeService(in); got != want {
			t.Errorf("scopeService(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzScopeService(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/iam/aws4_request, SignedHeaders=host")
	f.Fuzz(func(t *testing.T, s string) {
		if got := scopeService(s); strings.Contains(got, "/") {
			t.Fatalf("scopeService(%q) = %q", s, got)
		}
	})
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
