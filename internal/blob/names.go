package blob

import (
	"fmt"

	"github.com/opencontainers/go-digest"
)

// MaxUploadIDLength bounds upload ids; the core uses UUIDs (36 characters).
const MaxUploadIDLength = 128

// ValidateUploadID reports whether id can name an upload in a path or key:
// 1 to 128 characters from [A-Za-z0-9_-].
func ValidateUploadID(id string) error {
	if len(id) == 0 || len(id) > MaxUploadIDLength {
		return fmt.Errorf("upload id length %d out of range 1..%d", len(id), MaxUploadIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("upload id %.80q: invalid character at %d", id, i)
		}
	}
	return nil
}

// DigestParts validates dgst and returns its algorithm and encoded parts,
// checked again character by character because they become path and key
// components: no future algorithm may widen what reaches a store.
func DigestParts(dgst digest.Digest) (alg, encoded string, err error) {
	if err := dgst.Validate(); err != nil {
		return "", "", fmt.Errorf("digest %.80q: %w", string(dgst), err)
	}
	alg, encoded = string(dgst.Algorithm()), dgst.Encoded()
	if !isLowerAlnum(alg) || !IsLowerHex(encoded) || len(encoded) < 2 {
		return "", "", fmt.Errorf("digest %.80q: %w", string(dgst), digest.ErrDigestInvalidFormat)
	}
	return alg, encoded, nil
}

func isLowerAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// IsLowerHex reports whether s holds only lower-case hex digits.
func IsLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'f' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
