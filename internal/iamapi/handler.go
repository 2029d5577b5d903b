// Package iamapi serves the IAM and STS subset Berth implements over the AWS
// Query protocol: POST / with a form body Action=...&Version=..., SigV4
// signed for service "iam" or "sts", answered with IAM's XML documents and
// XML errors. It is an adapter: the rules live in the identity package.
package iamapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/identity"
)

// API versions and XML namespaces.
const (
	IAMVersion   = "2010-05-08"
	STSVersion   = "2011-06-15"
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// MaxBodySize bounds a request body: a PolicyDocument may hold 131072
// characters, URL-encoded up to three times that.
const MaxBodySize = 1 << 20

// Authenticator verifies a request's SigV4 signature (*auth.Verifier with
// Protocol auth.ProtocolQuery).
type Authenticator interface {
	Verify(r *http.Request, body []byte, service string) (*auth.Principal, error)
}

// AuthorizeFunc decides whether p may perform action ("iam:CreateUser") on
// resource (an ARN). It returns nil to allow, or an error: *Error is sent as
// is (typically AccessDenied), anything else is an internal failure.
type AuthorizeFunc func(ctx context.Context, p *auth.Principal, action, resource string) error

// Options configures the handler.
type Options struct {
	Identity      *identity.Identity
	Authenticator Authenticator
	// Authorize, when nil, lets only the account root call IAM actions
	// (STS GetCallerIdentity is open to every authenticated caller).
	Authorize AuthorizeFunc
	Logger    *slog.Logger
}

// Handler serves the Query protocol APIs.
type Handler struct {
	id        *identity.Identity
	authn     Authenticator
	authorize AuthorizeFunc
	log       *slog.Logger
}

// New returns the handler.
func New(opts Options) (*Handler, error) {
	if opts.Identity == nil || opts.Authenticator == nil {
		return nil, errors.New("iamapi: an identity and an authenticator are required")
	}
	h := &Handler{id: opts.Identity, authn: opts.Authenticator, authorize: opts.Authorize, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.authorize == nil {
		h.authorize = RootOnly
	}
	return h, nil
}

// IsQueryRequest reports whether r is a Query protocol request (POST / with
// a form body and no X-Amz-Target), which is how the server tells IAM and
// STS apart from the JSON APIs on the same path.
func IsQueryRequest(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// Error is an IAM/STS error on the wire.
type Error struct {
	Status  int
	Type    string // Sender or Receiver
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorStatus is IAM's HTTP status per error code.
var errorStatus = map[string]int{
	identity.CodeNoSuchEntity:            http.StatusNotFound,
	identity.CodeEntityAlreadyExists:     http.StatusConflict,
	identity.CodeDeleteConflict:          http.StatusConflict,
	identity.CodeLimitExceeded:           http.StatusConflict,
	identity.CodeValidationError:         http.StatusBadRequest,
	identity.CodeInvalidInput:            http.StatusBadRequest,
	identity.CodeMalformedPolicyDocument: http.StatusBadRequest,
	"AccessDenied":                       http.StatusForbidden,
	"InvalidAction":                      http.StatusBadRequest,
	"MissingAction":                      http.StatusBadRequest,
	"MissingParameter":                   http.StatusBadRequest,
	"InvalidParameterValue":              http.StatusBadRequest,
	"MalformedQueryString":               http.StatusBadRequest,
	"RequestEntityTooLarge":              http.StatusRequestEntityTooLarge,
	"InvalidHttpRequest":                 http.StatusMethodNotAllowed,
}

func newError(code, msg string) *Error {
	status, ok := errorStatus[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &Error{Status: status, Type: "Sender", Code: code, Message: msg}
}

// RootOnly is the default AuthorizeFunc: the root may do everything, IAM
// users nothing (until policy enforcement decides), except STS
// GetCallerIdentity which AWS never denies.
func RootOnly(_ context.Context, p *auth.Principal, action, resource string) error {
	if p.IsRoot || action == "sts:GetCallerIdentity" {
		return nil
	}
	return AccessDenied(p, action, resource)
}

// AccessDenied is IAM's AccessDenied error for p when no policy allows the
// action (RootOnly's denial).
func AccessDenied(p *auth.Principal, action, resource string) *Error {
	return AccessDeniedMessage(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		p.ARN, action, resource, action))
}

// AccessDeniedMessage is IAM's AccessDenied error with a message the policy
// engine already worded (authz.DeniedError.Message).
func AccessDeniedMessage(msg string) *Error { return newError("AccessDenied", msg) }

// request is one decoded call.
type request struct {
	action    string
	service   string // "iam" or "sts"
	params    url.Values
	principal *auth.Principal
	requestID string
}

func (r *request) get(name string) string { return r.params.Get(name) }

// required returns a required parameter or IAM's null validation error.
func (r *request) required(name, member string) (string, error) {
	v, ok := r.params[name]
	if !ok || len(v) == 0 {
		return "", newError(identity.CodeValidationError, fmt.Sprintf(
			"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member))
	}
	return v[0], nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := w.Header().Get("X-Request-Id")
	if reqID == "" {
		reqID = uuid.NewString()
	}
	w.Header().Set("X-Amzn-Requestid", reqID)
	req, out, err := h.serve(r, reqID)
	ns := IAMNamespace
	if req != nil && req.service == "sts" {
		ns = STSNamespace
	}
	if err != nil {
		h.writeError(w, r, ns, reqID, err)
		return
	}
	h.writeResult(w, r, ns, req.action, out, reqID)
}

func (h *Handler) serve(r *http.Request, reqID string) (*request, any, error) {
	if r.Method != http.MethodPost {
		return nil, nil, newError("InvalidHttpRequest", "The requested HTTP method is not supported.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return nil, nil, newError("MalformedQueryString", "The request body could not be read.")
	}
	if len(body) > MaxBodySize {
		return nil, nil, newError("RequestEntityTooLarge", "Request body is too large.")
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, newError("MalformedQueryString", "The request body is not a valid form encoding.")
	}
	req := &request{action: params.Get("Action"), params: params, requestID: reqID}
	req.service = scopeService(r.Header.Get("Authorization"))
	if req.service != "iam" && req.service != "sts" {
		req.service = "iam"
		if _, ok := stsActions[req.action]; ok {
			req.service = "sts"
		}
	}
	req.principal, err = h.authn.Verify(r, body, req.service)
	if err != nil {
		return req, nil, err
	}
	if req.action == "" {
		return req, nil, newError("MissingAction", "Missing Action")
	}
	table, version := iamActions, IAMVersion
	if req.service == "sts" {
		table, version = stsActions, STSVersion
	}
	op, ok := table[req.action]
	if !ok {
		return req, nil, newError("InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", req.action, params.Get("Version")))
	}
	if v := params.Get("Version"); v != version {
		return req, nil, newError("InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", req.action, v))
	}
	resource, err := op.resource(h, r.Context(), req)
	if err != nil {
		return req, nil, err
	}
	if err := h.authorize(r.Context(), req.principal, req.service+":"+req.action, resource); err != nil {
		return req, nil, err
	}
	out, err := op.run(h, r.Context(), req)
	if err == nil && op.mutates {
		h.log.InfoContext(r.Context(), "iam change", "action", req.service+":"+req.action,
			"principal", req.principal.ARN, "resource", resource, "request_id", reqID)
	}
	return req, out, err
}

// scopeService returns the service of a SigV4 Authorization header's
// credential scope, or "".
func scopeService(authz string) string {
	_, rest, ok := strings.Cut(authz, "Credential=")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, ", "); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// writeError sends err as an XML ErrorResponse.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, ns, reqID string, err error) {
	var e *Error
	var ie *identity.IAMError
	var ae *auth.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ie):
		e = newError(ie.Code, ie.Message)
	case errors.As(err, &ae):
		e = &Error{Status: ae.Status, Type: "Sender", Code: ae.Code, Message: ae.Message}
	default:
		h.log.ErrorContext(r.Context(), "iam api request failed", "request_id", reqID, "error", err)
		e = serviceFailure(reqID)
	}
	doc := errorResponse{XMLNS: ns, Error: xmlError{Type: e.Type, Code: e.Code, Message: e.Message}, RequestID: reqID}
	writeXML(w, e.Status, doc)
}

func serviceFailure(reqID string) *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "Receiver", Code: "ServiceFailure",
		Message: "An internal error occurred. Request ID: " + reqID}
}

// WriteServiceFailure answers r with IAM's (or, for an STS-signed request,
// STS's) ServiceFailure: for failures outside the handler, such as the
// server's panic recovery.
func WriteServiceFailure(w http.ResponseWriter, r *http.Request, reqID string) {
	ns := IAMNamespace
	if scopeService(r.Header.Get("Authorization")) == "sts" {
		ns = STSNamespace
	}
	e := serviceFailure(reqID)
	writeXML(w, e.Status, errorResponse{XMLNS: ns, Error: xmlError{Type: e.Type, Code: e.Code, Message: e.Message}, RequestID: reqID})
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeResult sends <ActionResponse><ActionResult>out</ActionResult>
// <ResponseMetadata/></ActionResponse>; a nil out omits the Result element.
// A result that cannot be encoded is an internal failure (writeError).
func (h *Handler) writeResult(w http.ResponseWriter, r *http.Request, ns, action string, out any, reqID string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, ns)
	if out != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			h.writeError(w, r, ns, reqID, fmt.Errorf("iamapi: encode %s result: %w", action, err))
			return
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	_ = xml.EscapeText(&b, []byte(reqID))
	b.WriteString("</RequestId></ResponseMetadata>")
	fmt.Fprintf(&b, "</%sResponse>", action)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		b = []byte("<ErrorResponse><Error><Code>ServiceFailure</Code></Error></ErrorResponse>")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}
