package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth-registry/berth/internal/blob"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Config
		wantErr string
	}{
		{url: "s3://my-bucket", want: Config{Bucket: "my-bucket"}},
		{url: "s3://my-bucket/", want: Config{Bucket: "my-bucket"}},
		{url: "s3://my.bucket/a/b/", want: Config{Bucket: "my.bucket", Prefix: "a/b"}},
		{
			url:  "s3://b12/registry?endpoint=http://127.0.0.1:7070&region=eu-west-1&path-style=true",
			want: Config{Bucket: "b12", Prefix: "registry", Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1", PathStyle: true},
		},
		{url: "s3://bkt?path-style=false", want: Config{Bucket: "bkt"}},
		{url: "s3://bkt?sse=AES256", want: Config{Bucket: "bkt", SSE: "AES256"}},
		{url: "s3://bkt?sse=aws:kms", want: Config{Bucket: "bkt", SSE: "aws:kms"}},
		{
			url:  "s3://bkt?sse=aws:kms&kms-key=arn:aws:kms:us-east-1:111122223333:key/abcd",
			want: Config{Bucket: "bkt", SSE: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/abcd"},
		},
		{url: "s3://bkt?endpoint=https%3A%2F%2Fs3.example.com%2Fbase", want: Config{Bucket: "bkt", Endpoint: "https://s3.example.com/base"}},

		{url: "http://bkt/x", wantErr: "scheme"},
		{url: "s3:bkt", wantErr: "s3://BUCKET"},
		{url: "s3://", wantErr: "bucket name"},
		{url: "s3://ab", wantErr: "bucket name"},
		{url: "s3://" + strings.Repeat("a", 64), wantErr: "bucket name"},
		{url: "s3://Upper", wantErr: "invalid character"},
		{url: "s3://-bkt", wantErr: "invalid character"},
		{url: "s3://bkt-", wantErr: "invalid character"},
		{url: "s3://b..kt", wantErr: "consecutive dots"},
		{url: "s3://bkt:9000", wantErr: "invalid character"},
		{url: "s3://key:secret@bkt", wantErr: "credentials"},
		{url: "s3://bkt#frag", wantErr: "fragment"},
		{url: "s3://bkt/a//b", wantErr: "segment"},
		{url: "s3://bkt/a/../b", wantErr: "segment"},
		{url: "s3://bkt/./b", wantErr: "segment"},
		{url: "s3://bkt/a%00b", wantErr: "invalid character"},
		{url: "s3://bkt/" + strings.Repeat("p", maxPrefixLen+1), wantErr: "prefix longer"},
		{url: "s3://bkt?endpoint=ftp://x", wantErr: "endpoint"},
		{url: "s3://bkt?endpoint=127.0.0.1:7070", wantErr: "endpoint"},
		{url: "s3://bkt?endpoint=http://u:p@host", wantErr: "endpoint"},
		{url: "s3://bkt?region=us_east", wantErr: "region"},
		{url: "s3://bkt?path-style=yes", wantErr: "path-style"},
		{url: "s3://bkt?sse=aes", wantErr: "sse"},
		{url: "s3://bkt?kms-key=abc", wantErr: "kms-key needs"},
		{url: "s3://bkt?sse=AES256&kms-key=abc", wantErr: "kms-key needs"},
		{url: "s3://bkt?bogus=1", wantErr: "unknown parameter"},
		{url: "s3://bkt?region=a&region=b", wantErr: "2 times"},
		{url: "s3://bkt?a=%zz", wantErr: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseURL(%q) = %+v, %v; want error containing %q", tt.url, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.url, err)
			}
			if got != tt.want {
				t.Fatalf("ParseURL(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
		})
	}
}

func TestConfigPartSize(t *testing.T) {
	for _, tt := range []struct {
		size int64
		ok   bool
	}{{0, true}, {MinPartSize, false}, {MinPartSize + 1<<20, true}, {64 << 20, true}, {maxPartSize + 1, false}, {-1, false}} {
		cfg := Config{Bucket: "bkt", PartSize: tt.size}
		if err := cfg.validate(); (err == nil) != tt.ok {
			t.Errorf("PartSize %d: err = %v, want ok=%v", tt.size, err, tt.ok)
		}
	}
}

func TestPlanWrite(t *testing.T) {
	const mp = MinPartSize
	tests := []struct {
		name    string
		pending int64
		tails   int
		n       int64
		eof     bool
		want    writeAction
	}{
		{"nothing at all", 0, 0, 0, true, actNone},
		{"nothing new behind a tail", 100, 2, 0, true, actNone},
		{"small chunk", 0, 0, 10, true, actTail},
		{"small chunk behind a tail", 100, 3, 10, true, actTail},
		{"chunk completes a part with the tail", mp - 10, 4, 10, true, actPart},
		{"chunk one short of a part", mp - 11, 4, 10, true, actTail},
		{"exactly a part", 0, 0, mp, true, actPart},
		{"full buffer, more to come", 0, 0, DefaultPartSize, false, actPart},
		{"full buffer behind a tail", mp - 1, 1, DefaultPartSize - mp + 1, false, actPart},
		{"tail list full", 1000, maxTails, 10, true, actCompact},
		{"tail list one below full", 1000, maxTails - 1, 10, true, actTail},
		{"tail list full but part reached", mp - 5, maxTails, 5, true, actPart},
		{"short fill that is not the end", 0, 0, 10, false, actPart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planWrite(tt.pending, tt.tails, tt.n, tt.eof, MinPartSize, maxTails); got != tt.want {
				t.Fatalf("planWrite(%d, %d, %d, %v) = %v, want %v", tt.pending, tt.tails, tt.n, tt.eof, got, tt.want)
			}
		})
	}
}

func TestPlanCommit(t *testing.T) {
	const n1, n2, n3 = "part-0-0000000000000001", "part-8-0000000000000002", "tail-16-0000000000000003"
	const t2 = "tail-20-0000000000000004"
	p := func(name string, size int64) staged { return staged{Name: name, Size: size} }
	sp := func(name string, length int64, whole bool) span {
		return span{Name: name, Length: length, Whole: whole}
	}
	tests := []struct {
		name    string
		st      uploadState
		size    int64
		want    commitPlan
		wantErr bool
	}{
		{"empty", uploadState{}, 0, commitPlan{Kind: commitPut}, false},
		{"empty prefix of data", uploadState{Tail: []staged{p(n3, 4)}}, 0, commitPlan{Kind: commitPut}, false},
		{"one tail", uploadState{Tail: []staged{p(n3, 4)}}, 4, commitPlan{Kind: commitCopy, Tail: []span{sp(n3, 4, true)}}, false},
		{"one tail truncated", uploadState{Tail: []staged{p(n3, 4)}}, 3, commitPlan{Kind: commitPut, Tail: []span{sp(n3, 3, false)}}, false},
		{"two tails", uploadState{Tail: []staged{p(n3, 4), p(t2, 5)}}, 9, commitPlan{Kind: commitPut, Tail: []span{sp(n3, 4, true), sp(t2, 5, true)}}, false},
		{"two tails cut in the first", uploadState{Tail: []staged{p(n3, 4), p(t2, 5)}}, 2, commitPlan{Kind: commitPut, Tail: []span{sp(n3, 2, false)}}, false},
		{"one part", uploadState{Parts: []staged{p(n1, 8)}}, 8, commitPlan{Kind: commitCopy, Parts: []span{sp(n1, 8, true)}}, false},
		{"one part truncated", uploadState{Parts: []staged{p(n1, 8)}}, 7, commitPlan{Kind: commitMultipart, Parts: []span{sp(n1, 7, false)}}, false},
		{
			"parts and tail", uploadState{Parts: []staged{p(n1, 8), p(n2, 8)}, Tail: []staged{p(n3, 4), p(t2, 5)}}, 25,
			commitPlan{Kind: commitMultipart, Parts: []span{sp(n1, 8, true), sp(n2, 8, true)}, Tail: []span{sp(n3, 4, true), sp(t2, 5, true)}}, false,
		},
		{
			"part and tail, tail dropped", uploadState{Parts: []staged{p(n1, 8)}, Tail: []staged{p(n3, 4)}}, 8,
			commitPlan{Kind: commitCopy, Parts: []span{sp(n1, 8, true)}}, false,
		},
		{
			"part and tail, cut in the tail", uploadState{Parts: []staged{p(n1, 8)}, Tail: []staged{p(n3, 4)}}, 10,
			commitPlan{Kind: commitMultipart, Parts: []span{sp(n1, 8, true)}, Tail: []span{sp(n3, 2, false)}}, false,
		},
		{"more than held", uploadState{Parts: []staged{p(n1, 8)}}, 9, commitPlan{}, true},
		{"negative", uploadState{}, -1, commitPlan{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planCommit(&tt.st, tt.size)
			if (err != nil) != tt.wantErr {
				t.Fatalf("planCommit: err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("planCommit = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseState(t *testing.T) {
	good := `{"v":1,"parts":[{"name":"part-0-0123456789abcdef","size":5242880}],"tail":[{"name":"tail-5242880-0123456789abcdef","size":3}]}`
	tests := []struct {
		name  string
		state string
		ok    bool
		size  int64
	}{
		{"good", good, true, 5242883},
		{"empty upload", `{"v":1}`, true, 0},
		{"empty", ``, false, 0},
		{"not json", `nope`, false, 0},
		{"trailing data", `{"v":1} {}`, false, 0},
		{"unknown field", `{"v":1,"x":2}`, false, 0},
		{"wrong version", `{"v":2}`, false, 0},
		{"traversal name", `{"v":1,"tail":[{"name":"../../blobs/sha256/x","size":3}]}`, false, 0},
		{"part named tail", `{"v":1,"parts":[{"name":"tail-0-0123456789abcdef","size":3}]}`, false, 0},
		{"short nonce", `{"v":1,"tail":[{"name":"tail-0-0123","size":3}]}`, false, 0},
		{"upper nonce", `{"v":1,"tail":[{"name":"tail-0-0123456789ABCDEF","size":3}]}`, false, 0},
		{"signed offset", `{"v":1,"tail":[{"name":"tail--1-0123456789abcdef","size":3}]}`, false, 0},
		{"zero size", `{"v":1,"tail":[{"name":"tail-0-0123456789abcdef","size":0}]}`, false, 0},
		{"negative size", `{"v":1,"tail":[{"name":"tail-0-0123456789abcdef","size":-5}]}`, false, 0},
		{"huge size", `{"v":1,"parts":[{"name":"part-0-0123456789abcdef","size":9223372036854775807}]}`, false, 0},
		{"tail too big", `{"v":1,"tail":[{"name":"tail-0-0123456789abcdef","size":5242880}]}`, false, 0},
		{"too many tails", `{"v":1,"tail":[` + strings.Repeat(`{"name":"tail-0-0123456789abcdef","size":1},`, maxTails) + `{"name":"tail-0-0123456789abcdef","size":1}]}`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseState([]byte(tt.state))
			if (err == nil) != tt.ok {
				t.Fatalf("parseState: err = %v, want ok=%v", err, tt.ok)
			}
			if err == nil && st.size() != tt.size {
				t.Fatalf("size = %d, want %d", st.size(), tt.size)
			}
		})
	}
	if _, err := parseState(make([]byte, maxStateLen+1)); err == nil {
		t.Fatal("oversized state accepted")
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"v":1,"parts":[{"name":"part-0-0123456789abcdef","size":5242880}],"tail":[{"name":"tail-5242880-0123456789abcdef","size":3}]}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"tail":[{"name":"tail-0-0123456789abcdef","size":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseState(b)
		if err != nil {
			return
		}
		// Whatever parses can be planned, and round-trips.
		if st.size() < 0 || st.tailSize() >= MinPartSize {
			t.Fatalf("accepted state with size %d, tail %d", st.size(), st.tailSize())
		}
		if _, err := planCommit(st, st.size()); err != nil {
			t.Fatalf("planCommit of an accepted state: %v", err)
		}
		out, err := st.marshal()
		if err != nil {
			t.Fatal(err)
		}
		st2, err := parseState(out)
		if err != nil || st2.size() != st.size() {
			t.Fatalf("round trip: %v, size %d vs %d", err, st2.size(), st.size())
		}
	})
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bkt/a/b?endpoint=http://127.0.0.1:1&region=us-east-1&path-style=true", "s3://bkt?sse=aws:kms&kms-key=k", "s3://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseURL(raw)
		if err != nil {
			return
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("ParseURL accepted %q but validate rejects %+v: %v", raw, cfg, err)
		}
		if strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") {
			t.Fatalf("prefix %q has an outer slash", cfg.Prefix)
		}
	})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func respErr(status int) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("boom")}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		notFound    bool
		unavailable bool
	}{
		{"no such key", &types.NoSuchKey{}, true, false},
		{"head not found", &types.NotFound{}, true, false},
		{"no such upload", &types.NoSuchUpload{}, true, false},
		{"generic 404", respErr(404), true, false},
		{"no such bucket", &smithy.GenericAPIError{Code: "NoSuchBucket"}, false, false},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false, false},
		{"403", respErr(403), false, false},
		{"500", respErr(500), false, true},
		{"503", respErr(503), false, true},
		{"429", respErr(429), false, true},
		{"slow down", &smithy.GenericAPIError{Code: "SlowDown"}, false, true},
		{"connection", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, false, true},
		{"timeout", fmt.Errorf("wrapped: %w", timeoutErr{}), false, true},
		{"cut short", fmt.Errorf("read: %w", errors.New("x")), false, false},
		{"canceled", fmt.Errorf("op: %w", context.Canceled), false, false},
		{"deadline over network", &smithyhttp.RequestSendError{Err: context.DeadlineExceeded}, false, false},
	}
	s := newStore(s3.New(s3.Options{Region: "us-east-1"}), Config{Bucket: "bkt"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.wrap(tt.err, "op")
			if got := errors.Is(err, blob.ErrNotFound); got != tt.notFound {
				t.Errorf("not found = %v, want %v (%v)", got, tt.notFound, err)
			}
			if got := IsUnavailable(err); got != tt.unavailable {
				t.Errorf("unavailable = %v, want %v (%v)", got, tt.unavailable, err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("wrapped error lost its cause: %v", err)
			}
		})
	}
}

func TestValidStagedName(t *testing.T) {
	tests := []struct {
		name, kind string
		ok         bool
	}{
		{stagedName("part", 0, "0123456789abcdef"), "part", true},
		{stagedName("tail", 1<<40, "fedcba9876543210"), "tail", true},
		{"part-0-0123456789abcdef", "tail", false},
		{"part-0-0123456789abcdef/x", "part", false},
		{"part-0-0123456789abcde", "part", false},
		{"part--0123456789abcdef", "part", false},
		{"part-12345678901234567890-0123456789abcdef", "part", false},
		{"part-1x-0123456789abcdef", "part", false},
		{"", "part", false},
	}
	for _, tt := range tests {
		if got := validStagedName(tt.name, tt.kind); got != tt.ok {
			t.Errorf("validStagedName(%q, %q) = %v, want %v", tt.name, tt.kind, got, tt.ok)
		}
	}
}
