package ecrapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/berth-registry/berth/internal/auth"
)

// SigningService is the SigV4 service name ECR requests are signed for.
const SigningService = "ecr"

// Authenticator verifies a request's signature over its already-read body.
// *auth.Verifier implements it. Client failures are *auth.Error; any other
// error is an internal failure.
type Authenticator interface {
	Verify(r *http.Request, body []byte, service string) (*auth.Principal, error)
}

// Request is what an operation handler receives.
type Request struct {
	Operation string
	RequestID string
	Principal *auth.Principal
	// Body is the raw JSON body; Params is the same body decoded generically
	// (numbers as json.Number) and already validated against the model.
	Body   []byte
	Params map[string]any
	HTTP   *http.Request

	// pruned records that Params dropped members the model does not define.
	pruned bool
}

// Decode unmarshals the body into v (typically the operation's input
// struct). Members v does not declare are ignored, as AWS does. A body that
// does not fit v is a SerializationException.
func (r *Request) Decode(v any) error {
	body := r.Body
	if r.pruned {
		// Decode only what was validated (see validator.prune).
		b, err := json.Marshal(r.Params)
		if err != nil {
			return fmt.Errorf("ecrapi: re-encode validated params: %w", err)
		}
		body = b
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return serializationError(fmt.Sprintf("%s can not be converted at '%s'", te.Value, te.Field))
		}
		return serializationError("The request body could not be decoded.")
	}
	return nil
}

// Handler runs one operation. It returns the output to encode (nil means
// {}) or an error: *APIError and *ValidationError are sent as they are;
// anything else is logged and sent as a generic ServerException.
type Handler func(ctx context.Context, req *Request) (any, error)

// Dispatcher serves ECR JSON 1.1 requests: POST / with X-Amz-Target
// AmazonEC2ContainerRegistry_V20150921.<Operation>.
type Dispatcher struct {
	auth     Authenticator
	logger   *slog.Logger
	handlers map[string]Handler
	// authorize, when set, runs after authentication and validation and
	// before the handler (policyops.go); its error is the response.
	authorize func(ctx context.Context, req *Request) error
}

// NewDispatcher returns a dispatcher that authenticates with a (required)
// and logs to logger (nil means slog.Default()).
func NewDispatcher(a Authenticator, logger *slog.Logger) *Dispatcher {
	if logger == nil {
		logger = slog.Default()
	}
	return &Dispatcher{auth: a, logger: logger, handlers: map[string]Handler{}}
}

// Register installs the handler for an operation of the ECR model. It panics
// on a name the model does not define or on a second registration: both are
// programming errors found at startup.
func (d *Dispatcher) Register(op string, h Handler) {
	if _, ok := operations[op]; !ok {
		panic(fmt.Sprintf("ecrapi: Register: %q is not an ECR operation", op))
	}
	if _, dup := d.handlers[op]; dup {
		panic(fmt.Sprintf("ecrapi: Register: %q registered twice", op))
	}
	d.handlers[op] = h
}

// ServeHTTP runs target parse -> authenticate -> decode -> validate ->
// handler -> encode.
func (d *Dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Upstream middleware may already have assigned the request ID.
	reqID := w.Header().Get("X-Amzn-Requestid")
	if reqID == "" {
		reqID = uuid.NewString()
	}
	out, err := d.serve(r, reqID)
	if err != nil {
		WriteError(w, reqID, d.toAPIError(r, reqID, err))
		return
	}
	writeResponse(w, reqID, out)
}

func (d *Dispatcher) serve(r *http.Request, reqID string) ([]byte, error) {
	target := r.Header.Get("X-Amz-Target")
	opName, ok := strings.CutPrefix(target, TargetPrefix+".")
	if r.Method != http.MethodPost || !ok {
		return nil, &APIError{Code: CodeUnknownOperation, Status: http.StatusBadRequest}
	}
	op, known := operations[opName]
	h, registered := d.handlers[opName]
	if !known || !registered {
		return nil, unknownOperation(opName)
	}
	if d.auth == nil {
		return nil, errors.New("ecrapi: dispatcher has no authenticator")
	}

	var body []byte
	// Refuse unauthenticated requests before buffering up to 30 MiB of body.
	if r.Header.Get("Authorization") != "" {
		b, err := ReadBody(r, BodyLimit(opName))
		if err != nil {
			return nil, err
		}
		body = b
	}
	principal, err := d.auth.Verify(r, body, SigningService)
	if err != nil {
		return nil, err
	}

	params, err := decodeParams(body)
	if err != nil {
		return nil, err
	}
	pruned, err := validateParams(op, params, true)
	if err != nil {
		return nil, err
	}
	req := &Request{
		Operation: opName, RequestID: reqID, Principal: principal,
		Body: body, Params: params, HTTP: r, pruned: pruned,
	}
	if d.authorize != nil {
		if err := d.authorize(r.Context(), req); err != nil {
			return nil, err
		}
	}
	out, err := h(r.Context(), req)
	if err != nil {
		return nil, err
	}
	enc, err := encodeOutput(out)
	if err != nil {
		return nil, fmt.Errorf("ecrapi: encode %s output: %w", opName, err)
	}
	return enc, nil
}

// toAPIError maps any error from the pipeline to its wire form, logging the
// ones the client cannot be told about.
func (d *Dispatcher) toAPIError(r *http.Request, reqID string, err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.APIError()
	}
	var authErr *auth.Error
	if errors.As(err, &authErr) {
		return &APIError{Code: authErr.Code, Message: authErr.Message, Status: authErr.Status}
	}
	d.logger.ErrorContext(r.Context(), "ecr api request failed",
		"request_id", reqID, "target", r.Header.Get("X-Amz-Target"), "error", err)
	return &APIError{Code: CodeServer, Status: http.StatusInternalServerError,
		Message: "An internal error occurred. Request ID: " + reqID}
}
