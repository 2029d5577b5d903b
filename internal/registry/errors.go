package registry

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error. Each API adapter owns a table that maps a
// Kind to its wire error (OCI error code, ECR exception name), so the core
// never speaks HTTP.
type Kind int

const (
	KindInternal            Kind = iota // unexpected failure: 500 / ServerException
	KindNameInvalid                     // repository name fails validation
	KindNameUnknown                     // repository does not exist
	KindTagInvalid                      // tag fails validation
	KindDigestInvalid                   // malformed digest, or content does not match it
	KindBlobUnknown                     // blob not found in the repository
	KindBlobUploadUnknown               // upload session not found or expired
	KindBlobUploadInvalid               // upload session used wrongly (bad offset, bad range, ...)
	KindRangeInvalid                    // chunk does not start at the current offset (416)
	KindSizeInvalid                     // declared size does not match content
	KindManifestUnknown                 // manifest or tag not found
	KindManifestInvalid                 // manifest fails to parse or validate
	KindManifestBlobUnknown             // manifest references a blob or child manifest that does not exist
	KindManifestTooLarge                // manifest exceeds the 4 MiB limit
	KindUnsupported                     // operation or media type not supported (e.g. schema1)
	KindTagImmutable                    // tag exists in an immutable repository
	KindRepositoryExists                // repository already exists
	KindRepositoryNotEmpty              // repository still holds images
	KindReferencedByIndex               // manifest is referenced by a manifest list / index
	KindDenied                          // caller is not allowed
	KindInvalidParameter                // generic bad input not covered by a specific kind
	KindUnavailable                     // a backing store is temporarily unavailable; retryable
)

// Error is the domain error every core operation returns for expected failures.
type Error struct {
	Kind    Kind
	Message string
	// Detail is optional structured context (e.g. the missing digest) that
	// adapters may surface (OCI "detail").
	Detail any
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the Kind of err, KindInternal when err is not a domain error.
func KindOf(err error) Kind {
	if e, ok := AsError(err); ok {
		return e.Kind
	}
	return KindInternal
}

// AsError returns err as *Error when it is one, and a store outage that was
// not wrapped in one (meta/blob ErrUnavailable) as a KindUnavailable *Error.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return unavailableError(err)
}
