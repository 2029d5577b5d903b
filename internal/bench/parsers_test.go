package bench

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNextLink(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    string
		wantErr bool
	}{
		{"none", nil, "", false},
		{"relative", []string{`</v2/r/tags/list?n=100&last=t-1>; rel="next"`}, "/v2/r/tags/list?n=100&last=t-1", false},
		{"absolute", []string{`<http://h:5000/v2/r/tags/list?last=x&n=2>; rel="next"`}, "/v2/r/tags/list?last=x&n=2", false},
		{"unquoted rel", []string{`</v2/r/tags/list?last=a>; rel=next`}, "/v2/r/tags/list?last=a", false},
		{"several rels", []string{`</v2/r/tags/list?last=a>; rel="prev next"`}, "/v2/r/tags/list?last=a", false},
		{"other rel only", []string{`</v2/r/tags/list?last=a>; rel="prev"`}, "", false},
		{"second of list", []string{`</v2/p>; rel="prev", </v2/r/tags/list?last=b>; rel="next"`}, "/v2/r/tags/list?last=b", false},
		{"second header", []string{`</v2/p>; rel="prev"`, `</v2/n>; rel="next"`}, "/v2/n", false},
		{"no brackets", []string{`/v2/r; rel="next"`}, "", false},
		{"not v2", []string{`</other>; rel="next"`}, "", true},
		{"bad url", []string{"<http://[::1>; rel=next"}, "", true},
		{"too long", []string{"<" + strings.Repeat("a", maxLinkLen) + ">; rel=next"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nextLink(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("nextLink(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzNextLink(f *testing.F) {
	f.Add(`</v2/r/tags/list?n=100&last=t-1>; rel="next"`)
	f.Add(`<http://h/v2/x>; rel=next, <y>; rel="prev"`)
	f.Add(`<;;rel==,>`)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := nextLink([]string{s})
		if err == nil && got != "" && !strings.HasPrefix(got, "/v2/") {
			t.Fatalf("nextLink(%q) = %q, not a /v2/ path", s, got)
		}
	})
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"status", "Name:\tberth\nVmPeak:\t  900 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 40000 kB\n", 51234, true},
		{"missing", "Name:\tberth\n", 0, false},
		{"bad unit", "VmHWM:\t 5 MB\n", 0, false},
		{"bad number", "VmHWM:\t x kB\n", 0, false},
		{"negative", "VmHWM:\t -5 kB\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM(strings.NewReader(tt.in))
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseVmHWM = %d, %v; want %d ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
	if n, err := peakRSS(0); n != 0 || err != nil {
		t.Fatalf("peakRSS(0) = %d, %v", n, err)
	}
	if _, err := peakRSS(1 << 30); err == nil {
		t.Fatal("peakRSS of no process succeeded")
	}
}

func TestDecodeECRToken(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		in         string
		user, pass string
		ok         bool
	}{
		{enc("AWS:tok:en"), "AWS", "tok:en", true},
		{enc("AWS"), "", "", false},
		{enc("AWS:"), "", "", false},
		{enc(":x"), "", "", false},
		{"%%%", "", "", false},
	}
	for _, tt := range tests {
		u, p, err := decodeECRToken(tt.in)
		if (err == nil) != tt.ok || u != tt.user || p != tt.pass {
			t.Errorf("decodeECRToken(%q) = %q, %q, %v", tt.in, u, p, err)
		}
	}
}

func TestUploadURL(t *testing.T) {
	c := &client{base: "http://reg:5000"}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	tests := []struct {
		loc, want string
		ok        bool
	}{
		{"/v2/r/blobs/uploads/123", "http://reg:5000/v2/r/blobs/uploads/123?digest=sha256%3A" + d.Hex, true},
		{"http://other/v2/r/blobs/uploads/1?_state=x", "http://other/v2/r/blobs/uploads/1?_state=x&digest=sha256%3A" + d.Hex, true},
		{"", "", false},
		{"http://[::1", "", false},
	}
	for _, tt := range tests {
		got, err := c.uploadURL(tt.loc, d)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("uploadURL(%q) = %q, %v; want %q", tt.loc, got, err, tt.want)
		}
	}
}

func TestSortedTags(t *testing.T) {
	got := sortedTags("bench", 3)
	want := []string{"bench", "t-000000", "t-000001", "t-000002"}
	if !slices.Equal(got, want) {
		t.Fatalf("sortedTags = %q, want %q", got, want)
	}
	if got := sortedTags("t-000001", 2); len(got) != 2 {
		t.Fatalf("duplicate tag kept: %q", got)
	}
}

func TestSmallImage(t *testing.T) {
	a, err := newSmallImage("a", 100)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSmallImage("b", 100)
	if err != nil {
		t.Fatal(err)
	}
	if a.layerDesc.Digest == b.layerDesc.Digest || a.configDesc.Digest == b.configDesc.Digest || a.manifestDigest == b.manifestDigest {
		t.Fatal("two small images share content")
	}
	if a.layerDesc.Size != 100 || descriptorOf(a.manifest, "x").Digest != a.manifestDigest {
		t.Fatalf("small image descriptors wrong: %+v", a.layerDesc)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(a.manifest)))
	if err != nil || m.Config.Digest != a.configDesc.Digest || len(m.Layers) != 1 || m.Layers[0].Digest != a.layerDesc.Digest {
		t.Fatalf("manifest %s: %v", a.manifest, err)
	}
}
