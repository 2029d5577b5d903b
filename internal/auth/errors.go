package auth

import (
	"fmt"
	"net/http"
)

// Protocol selects the AWS wire protocol whose error codes authentication
// failures use: the JSON protocols (ECR) and the Query protocol (IAM, STS)
// name the same failures differently.
type Protocol int

const (
	ProtocolJSON  Protocol = iota // AmazonEC2ContainerRegistry_V20150921 and other JSON 1.x services
	ProtocolQuery                 // IAM and STS
)

// Reason classifies an authentication failure independently of the protocol.
type Reason int

const (
	_                       Reason = iota
	ReasonMissing                  // no credentials at all
	ReasonIncomplete               // malformed Authorization header or date
	ReasonUnknownKey               // unknown, inactive or mismatched access key / session token
	ReasonBadSignature             // signature mismatch, bad scope, or clock skew
	ReasonExpiredToken             // temporary credentials past their expiration
	ReasonInvalidLoginToken        // registry login token that fails verification
)

// Error is an authentication failure carrying the exact AWS error code, HTTP
// status and message for the protocol it was produced for. Messages never
// contain secrets.
type Error struct {
	Reason  Reason
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

type wireError struct {
	jsonCode, queryCode string
	status              int
	// The messages are used when the caller passes none; the Query protocol
	// words the missing-token message differently.
	jsonMessage, queryMessage string
}

var wireErrors = map[Reason]wireError{
	ReasonMissing: {
		jsonCode: "MissingAuthenticationTokenException", queryCode: "MissingAuthenticationToken",
		status:      http.StatusForbidden,
		jsonMessage: "Missing Authentication Token", queryMessage: "Request is missing Authentication Token",
	},
	ReasonIncomplete: {
		jsonCode: "IncompleteSignatureException", queryCode: "IncompleteSignature",
		status: http.StatusBadRequest,
	},
	ReasonUnknownKey: {
		jsonCode: "UnrecognizedClientException", queryCode: "InvalidClientTokenId",
		status:      http.StatusForbidden,
		jsonMessage: msgInvalidToken, queryMessage: msgInvalidToken,
	},
	ReasonBadSignature: {
		jsonCode: "InvalidSignatureException", queryCode: "SignatureDoesNotMatch",
		status:      http.StatusForbidden,
		jsonMessage: msgBadSignature, queryMessage: msgBadSignature,
	},
	ReasonExpiredToken: {
		jsonCode: "ExpiredTokenException", queryCode: "ExpiredToken",
		status:      http.StatusForbidden,
		jsonMessage: msgExpiredToken, queryMessage: msgExpiredToken,
	},
	ReasonInvalidLoginToken: {
		// Only the /v2 adapter sees this; it maps it to its own 401.
		jsonCode: "InvalidLoginToken", queryCode: "InvalidLoginToken",
		status:       http.StatusUnauthorized,
		jsonMessage:  "Your authorization token is invalid or has expired.",
		queryMessage: "Your authorization token is invalid or has expired.",
	},
}

const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgExpiredToken = "The security token included in the request is expired"
)

// newError builds the wire error for reason under protocol p. An empty
// message selects the reason's standard AWS message.
func newError(p Protocol, reason Reason, message string) *Error {
	w, ok := wireErrors[reason]
	if !ok {
		// Unreachable unless a Reason is added without a table row.
		return &Error{Reason: reason, Code: "InternalFailure", Status: http.StatusInternalServerError,
			Message: fmt.Sprintf("unknown authentication failure %d", reason)}
	}
	code, def := w.jsonCode, w.jsonMessage
	if p == ProtocolQuery {
		code, def = w.queryCode, w.queryMessage
	}
	if message == "" {
		message = def
	}
	return &Error{Reason: reason, Code: code, Status: w.status, Message: message}
}
