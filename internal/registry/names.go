package registry

import (
	"strings"

	"github.com/opencontainers/go-digest"
)

// Limits shared by both APIs.
const (
	MinRepositoryNameLength = 2   // ECR's minimum
	MaxRepositoryNameLength = 256 // ECR's maximum
	MaxTagLength            = 128 // OCI's maximum
	MaxManifestSize         = 4 << 20
)

// ValidateRepositoryName checks name against the OCI distribution name rule
// (which ECR's model repeats) and ECR's length limits. It is a hand-written
// scanner rather than a regexp because it runs on every request.
func ValidateRepositoryName(name string) error {
	if n := len(name); n < MinRepositoryNameLength || n > MaxRepositoryNameLength {
		return Errorf(KindNameInvalid, "invalid repository name %s: length must be between %d and %d characters", quoteTrunc(name), MinRepositoryNameLength, MaxRepositoryNameLength)
	}
	for rest := name; ; {
		component, tail, more := strings.Cut(rest, "/")
		if !validNameComponent(component) {
			return Errorf(KindNameInvalid, "invalid repository name %s: each path component must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*", quoteTrunc(name))
		}
		if !more {
			return nil
		}
		rest = tail
	}
}

// validNameComponent matches [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*.
func validNameComponent(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for {
		// A run of alphanumerics.
		start := i
		for i < len(s) && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(s) {
			return true
		}
		// A separator: ".", "_", "__" or "-+".
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(s) && s[i] == '_' {
				i++
			}
		case '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
		if i == len(s) {
			return false
		}
	}
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// ValidateTag checks a tag against the OCI rule [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func ValidateTag(tag string) error {
	if tag == "" || len(tag) > MaxTagLength {
		return Errorf(KindTagInvalid, "invalid tag %s: must be 1 to %d characters", quoteTrunc(tag), MaxTagLength)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			(i > 0 && (c == '.' || c == '-'))
		if !ok {
			return Errorf(KindTagInvalid, "invalid tag %s: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", quoteTrunc(tag))
		}
	}
	return nil
}

// ParseDigest parses and validates a digest whose algorithm Berth supports
// (sha256, sha512).
func ParseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	if err := validateDigest(d); err != nil {
		return "", err
	}
	return d, nil
}

// validateDigest is ParseDigest for a digest.Digest a caller already holds.
func validateDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return &Error{Kind: KindDigestInvalid, Message: "invalid digest " + quoteTrunc(string(d)), Err: err}
	}
	return nil
}

// IsDigestReference reports whether a manifest reference is a digest rather
// than a tag (tags cannot contain ':').
func IsDigestReference(reference string) bool { return strings.Contains(reference, ":") }

// quoteTrunc quotes untrusted input for messages, bounded in length.
func quoteTrunc(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
