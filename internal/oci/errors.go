package oci

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/berth-registry/berth/internal/registry"
)

// wireError is how a core error kind appears on the OCI wire.
type wireError struct {
	Status int
	Code   string
}

// errorTable maps every core error kind to its OCI status and code. It is the
// only place this adapter decides how a failure looks to a client.
var errorTable = map[registry.Kind]wireError{
	registry.KindInternal:          {http.StatusInternalServerError, "UNKNOWN"},
	registry.KindNameInvalid:       {http.StatusBadRequest, "NAME_INVALID"},
	registry.KindNameUnknown:       {http.StatusNotFound, "NAME_UNKNOWN"},
	registry.KindTagInvalid:        {http.StatusBadRequest, "TAG_INVALID"},
	registry.KindDigestInvalid:     {http.StatusBadRequest, "DIGEST_INVALID"},
	registry.KindBlobUnknown:       {http.StatusNotFound, "BLOB_UNKNOWN"},
	registry.KindBlobUploadUnknown: {http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN"},
	registry.KindBlobUploadInvalid: {http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
	// 416 tells the client to resynchronise with GET on the upload URL.
	registry.KindRangeInvalid:        {http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID"},
	registry.KindSizeInvalid:         {http.StatusBadRequest, "SIZE_INVALID"},
	registry.KindManifestUnknown:     {http.StatusNotFound, "MANIFEST_UNKNOWN"},
	registry.KindManifestInvalid:     {http.StatusBadRequest, "MANIFEST_INVALID"},
	registry.KindManifestBlobUnknown: {http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN"},
	registry.KindManifestTooLarge:    {http.StatusRequestEntityTooLarge, "MANIFEST_INVALID"},
	registry.KindUnsupported:         {http.StatusBadRequest, "UNSUPPORTED"},
	// ECR answers a push onto an immutable tag with TAG_INVALID, which docker
	// prints as "tag invalid: <message>".
	registry.KindTagImmutable:       {http.StatusBadRequest, "TAG_INVALID"},
	registry.KindRepositoryExists:   {http.StatusConflict, "UNSUPPORTED"},
	registry.KindRepositoryNotEmpty: {http.StatusConflict, "UNSUPPORTED"},
	// Deleting a manifest an index still references: the client must delete
	// the index first, a conflict rather than a malformed request.
	registry.KindReferencedByIndex: {http.StatusConflict, "UNSUPPORTED"},
	registry.KindDenied:            {http.StatusForbidden, "DENIED"},
	registry.KindInvalidParameter:  {http.StatusBadRequest, "UNSUPPORTED"},
	registry.KindUnavailable:       {http.StatusServiceUnavailable, "UNAVAILABLE"},
}

// retryAfterSeconds is sent with 503 responses.
const retryAfterSeconds = 5

// wireFor returns the OCI status and code for a core error kind; an unmapped
// kind is treated as internal.
func wireFor(k registry.Kind) wireError {
	if we, ok := errorTable[k]; ok {
		return we
	}
	return errorTable[registry.KindInternal]
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// fail writes err (a core error, or anything else as an internal error).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := registry.AsError(err)
	if !ok {
		e = &registry.Error{Kind: registry.KindInternal, Err: err}
	}
	we := wireFor(e.Kind)
	msg, detail := e.Message, e.Detail
	switch e.Kind {
	case registry.KindInternal:
		// Internal messages and causes may name files, hosts or queries: log
		// them, tell the client nothing.
		h.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		msg, detail = "internal server error", nil
	case registry.KindUnavailable:
		h.log.WarnContext(r.Context(), "backing store unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if msg == "" {
		msg = http.StatusText(we.Status)
	}
	h.writeError(w, r, we.Status, we.Code, msg, detail)
}

// authFail writes the refusal an Authorize hook returned.
func (h *handler) authFail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *AuthError
	if errors.As(err, &ae) {
		if ae.Challenge != "" {
			w.Header().Set("WWW-Authenticate", ae.Challenge)
		}
		msg := ae.Message
		if msg == "" {
			msg = http.StatusText(ae.status())
		}
		h.writeError(w, r, ae.status(), ae.code(), msg, nil)
		return
	}
	// A core error passes through the table; anything else is an internal
	// failure of the hook, and the request is refused (500) rather than let through.
	h.fail(w, r, err)
}

// writeError writes an OCI error body.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, status int, code, message string, detail any) {
	body, err := json.Marshal(errorBody{Errors: []errorEntry{{Code: code, Message: message, Detail: detail}}})
	if err != nil {
		// Detail was not serialisable; the code and message still are.
		h.log.WarnContext(r.Context(), "encode error detail", "error", err)
		body, _ = json.Marshal(errorBody{Errors: []errorEntry{{Code: code, Message: message}}})
	}
	writeBody(w, status, "application/json", body)
}

// writeBody sends a complete response body in one Write.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON encodes v and sends it.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeBody(w, status, contentType, body)
}
