package blob

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestValidateUploadID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0b6f2e3a-7c1d-4e8f-9a2b-3c4d5e6f7a8b", true},
		{"A_z-9", true},
		{strings.Repeat("a", MaxUploadIDLength), true},
		{strings.Repeat("a", MaxUploadIDLength+1), false},
		{"", false},
		{"../x", false},
		{"a/b", false},
		{"a.b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		if err := ValidateUploadID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidateUploadID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestDigestParts(t *testing.T) {
	good := digest.FromString("x")
	alg, enc, err := DigestParts(good)
	if err != nil || alg != "sha256" || enc != good.Encoded() {
		t.Fatalf("DigestParts(%s) = %q, %q, %v", good, alg, enc, err)
	}
	for _, bad := range []digest.Digest{"", "sha256:../../etc", "sha256:" + digest.Digest(strings.Repeat("A", 64)), "md5:abc", "sha256"} {
		if _, _, err := DigestParts(bad); err == nil {
			t.Errorf("DigestParts(%q) accepted", bad)
		}
	}
}
