package oci

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"0-99", 0, 99, true},
		{"100-199", 100, 199, true},
		{"5-5", 5, 5, true},
		{" 0-9 ", 0, 9, true},
		{"bytes=0-9", 0, 9, true},
		{"BYTES=10-19", 10, 19, true},
		{"bytes 0-9/*", 0, 9, true},
		{"bytes 0-9/10", 0, 9, true},
		{"bytes  0-9/100", 0, 9, true},
		{"0-9/*", 0, 9, true},
		{"9223372036854775806-9223372036854775806", 9223372036854775806, 9223372036854775806, true},

		{"", 0, 0, false},
		{"bytes=", 0, 0, false},
		{"0", 0, 0, false},
		{"-5", 0, 0, false},
		{"5-", 0, 0, false},
		{"10-9", 0, 0, false},
		{"+1-5", 0, 0, false},
		{"1-+5", 0, 0, false},
		{"0x1-5", 0, 0, false},
		{"1--5", 0, 0, false},
		{"0-9-10", 0, 0, false},
		{"bytes 0-9/9", 0, 0, false},
		{"bytes 0-9/abc", 0, 0, false},
		{"bytes 0-9/", 0, 0, false},
		{"0-99999999999999999999", 0, 0, false},
		{"bytes=0-9,20-29", 0, 0, false},
		{"units 0-9", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, end, err := parseContentRange(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("parseContentRange(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && (start != tt.start || end != tt.end) {
				t.Fatalf("parseContentRange(%q) = %d, %d, want %d, %d", tt.in, start, end, tt.start, tt.end)
			}
		})
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-99", "bytes=0-9", "bytes 0-9/*", "bytes 0-9/10", "10-9", "-1", "1-", "+1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || end < start {
			t.Fatalf("parseContentRange(%q) = %d, %d: not a valid range", s, start, end)
		}
		// Every accepted form means the same as the spec's canonical one.
		for _, canon := range []string{
			fmt.Sprintf("%d-%d", start, end),
			fmt.Sprintf("bytes=%d-%d", start, end),
			fmt.Sprintf("bytes %d-%d/*", start, end),
		} {
			s2, e2, err := parseContentRange(canon)
			if err != nil || s2 != start || e2 != end {
				t.Fatalf("%q parsed to %d-%d, but %q gives %d-%d, %v", s, start, end, canon, s2, e2, err)
			}
		}
	})
}

func TestUploadRange(t *testing.T) {
	tests := []struct {
		offset int64
		want   string
	}{
		{0, "0-0"},
		{1, "0-0"},
		{2, "0-1"},
		{1024, "0-1023"},
	}
	for _, tt := range tests {
		if got := uploadRange(tt.offset); got != tt.want {
			t.Errorf("uploadRange(%d) = %q, want %q", tt.offset, got, tt.want)
		}
	}
}

func TestExactReader(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		n       int64
		want    string
		wantErr error
	}{
		{"exact", "hello", 5, "hello", nil},
		{"short", "hell", 5, "hell", errChunkLength},
		{"long", "hello!", 5, "hello", errChunkLength},
		{"empty", "", 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.DataErrReader,
			} {
				got, err := io.ReadAll(&exactReader{r: wrap(strings.NewReader(tt.body)), n: tt.n})
				if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if string(got) != tt.want {
					t.Fatalf("read %q, want %q", got, tt.want)
				}
			}
		})
	}
}
