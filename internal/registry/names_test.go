package registry

import (
	"strings"
	"testing"
)

func TestValidateRepositoryName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"ab", true},
		{"my-nginx-repo", true},
		{"team/app", true},
		{"conformance/repo1", true},
		{"a.b_c__d--e/f0", true},
		{"a---b", true},
		{strings.Repeat("a", 256), true},
		{"a", false},                      // ECR minimum is 2
		{strings.Repeat("a", 257), false}, // ECR maximum is 256
		{"", false},
		{"Upper", false},
		{"a__", false},
		{"a___b", false},
		{"-ab", false},
		{"ab-", false},
		{"a..b", false},
		{"a/", false},
		{"/ab", false},
		{"a//b", false},
		{"a b", false},
		{"ab:latest", false},
		{"a/../b", false},
	}
	for _, tt := range tests {
		err := ValidateRepositoryName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRepositoryName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && KindOf(err) != KindNameInvalid {
			t.Errorf("ValidateRepositoryName(%q) kind = %v, want KindNameInvalid", tt.name, KindOf(err))
		}
	}
}

func TestValidateTag(t *testing.T) {
	tests := []struct {
		tag string
		ok  bool
	}{
		{"latest", true},
		{"v1.0.0", true},
		{"_x", true},
		{"A-b.c_d", true},
		{strings.Repeat("t", 128), true},
		{strings.Repeat("t", 129), false},
		{"", false},
		{".x", false},
		{"-x", false},
		{"a/b", false},
		{"a:b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		err := ValidateTag(tt.tag)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateTag(%q) = %v, want ok=%v", tt.tag, err, tt.ok)
		}
	}
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"sha256:" + strings.Repeat("a", 64), true},
		{"sha512:" + strings.Repeat("b", 128), true},
		{"sha256:" + strings.Repeat("a", 63), false},
		{"sha256:" + strings.Repeat("A", 64), false},
		{"md5:d41d8cd98f00b204e9800998ecf8427e", false},
		{"latest", false},
		{"", false},
	}
	for _, tt := range tests {
		_, err := ParseDigest(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDigest(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && KindOf(err) != KindDigestInvalid {
			t.Errorf("ParseDigest(%q) kind = %v", tt.in, KindOf(err))
		}
	}
}

func FuzzValidateRepositoryName(f *testing.F) {
	for _, s := range []string{"ab", "a/b", "a__b", "a--b", "a..b", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateRepositoryName(s) != nil {
			return
		}
		// Whatever passes is safe to use in paths and keys.
		if strings.Contains(s, "..") || strings.HasPrefix(s, "/") || strings.ContainsAny(s, " :\\\x00") {
			t.Fatalf("accepted unsafe name %q", s)
		}
	})
}
