package ecrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of ECR requests and responses.
const ContentType = "application/x-amz-json-1.1"

// Body size limits. UploadLayerPart carries a base64 layerPartBlob of up to
// 20 MiB (the model's maximum), about 26.7 MiB once encoded.
const (
	MaxBodySize            = 1 << 20
	MaxUploadLayerPartSize = 30 << 20
)

// Error codes the adapter itself produces.
const (
	CodeInvalidParameter      = "InvalidParameterException"
	CodeServer                = "ServerException"
	CodeSerialization         = "SerializationException"
	CodeUnknownOperation      = "UnknownOperationException"
	CodeRequestEntityTooLarge = "RequestEntityTooLargeException"
)

// APIError is an error as the ECR JSON protocol sends it: HTTP status,
// X-Amzn-Errortype: Code, and body {"__type": Code, "message": Message}
// plus any extra modeled members (e.g. InvalidLayerPartException's
// lastValidByteReceived) from Fields.
type APIError struct {
	Code    string
	Message string
	Status  int
	Fields  map[string]any
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an APIError for code with the status the model gives it
// (500 for ServerException, 400 for other exceptions).
func Errorf(code, format string, args ...any) *APIError {
	status, ok := ExceptionStatus(code)
	if !ok {
		status = http.StatusBadRequest
	}
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// MarshalJSON renders the error body.
func (e *APIError) MarshalJSON() ([]byte, error) {
	body := make(map[string]any, len(e.Fields)+2)
	for k, v := range e.Fields {
		body[k] = v
	}
	body["__type"] = e.Code
	if e.Message != "" {
		body["message"] = e.Message
	}
	return json.Marshal(body)
}

func serializationError(msg string) *APIError {
	return &APIError{Code: CodeSerialization, Message: msg, Status: http.StatusBadRequest}
}

func unknownOperation(op string) *APIError {
	return &APIError{Code: CodeUnknownOperation, Status: http.StatusBadRequest,
		Message: fmt.Sprintf("The operation '%s' is not supported.", op)}
}

// WriteError writes e as an AWS JSON 1.1 error response.
func WriteError(w http.ResponseWriter, requestID string, e *APIError) {
	body, err := json.Marshal(e)
	if err != nil {
		// Only unmarshalable Fields can get here; drop them, keep the code.
		body, _ = json.Marshal(&APIError{Code: e.Code, Message: e.Message})
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Errortype", e.Code)
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeResponse writes a successful response with an already encoded body.
func writeResponse(w http.ResponseWriter, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// encodeOutput marshals a handler's result; nil becomes {}.
func encodeOutput(out any) ([]byte, error) {
	if out == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(out)
}

// BodyLimit returns the largest request body accepted for operation.
func BodyLimit(operation string) int64 {
	if operation == "UploadLayerPart" {
		return MaxUploadLayerPartSize
	}
	return MaxBodySize
}

// ReadBody reads at most limit bytes of r's body, failing with a 413
// APIError when there is more.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ecrapi: read request body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge(limit)
	}
	return body, nil
}

func tooLarge(limit int64) *APIError {
	return &APIError{Code: CodeRequestEntityTooLarge, Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("Request body exceeds the maximum of %d bytes.", limit)}
}

// decodeParams decodes a request body into a generic JSON object, keeping
// numbers exact. An empty body is an empty object, as AWS treats it.
func decodeParams(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, serializationError("The request body is not valid JSON.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, serializationError("The request body has data after the JSON object.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, serializationError(fmt.Sprintf("%s can not be converted to a structure", jsonKind(v)))
	}
	return obj, nil
}

// EpochTime is a timestamp as the AWS JSON protocol sends it: seconds since
// the Unix epoch with a fractional part (millisecond precision). Use
// `json:",omitzero"` for optional members.
type EpochTime time.Time

// Time returns t as a time.Time.
func (t EpochTime) Time() time.Time { return time.Time(t) }

// IsZero reports whether t is the zero time (so omitzero omits it).
func (t EpochTime) IsZero() bool { return time.Time(t).IsZero() }

// MarshalJSON renders e.g. 1704067200.123.
func (t EpochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// maxEpochSeconds keeps decoded timestamps within time.Time's sane range.
const maxEpochSeconds = 1 << 40

// UnmarshalJSON accepts a JSON number of epoch seconds (integer, fraction or
// exponent form) or null.
func (t *EpochTime) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxEpochSeconds {
		return fmt.Errorf("ecrapi: timestamp %q is not epoch seconds", s)
	}
	*t = EpochTime(time.UnixMilli(int64(math.Round(f * 1000))).UTC())
	return nil
}
