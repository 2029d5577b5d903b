package s3

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

func TestSSEFor(t *testing.T) {
	const repoKey, urlKey = "arn:aws:kms:us-east-1:111122223333:key/repo", "arn:aws:kms:us-east-1:111122223333:key/url"
	tests := []struct {
		name    string
		urlSSE  string // the store URL's sse
		urlKey  string // the store URL's kms-key
		enc     blob.Encryption
		want    sseSpec
		wantErr bool
	}{
		{name: "unset, no default", enc: blob.Encryption{}, want: sseSpec{}},
		{name: "AES256, no default: the bucket's default", enc: blob.Encryption{Type: "AES256"}, want: sseSpec{}},
		{name: "AES256, default AES256", urlSSE: "AES256", enc: blob.Encryption{Type: "AES256"}, want: sseSpec{typ: "AES256"}},
		{name: "AES256, default KMS", urlSSE: "aws:kms", urlKey: urlKey, enc: blob.Encryption{Type: "AES256"}, want: sseSpec{typ: "aws:kms", kmsKey: urlKey}},
		{name: "AES256 ignores a stray key", urlSSE: "AES256", enc: blob.Encryption{Type: "AES256", KMSKey: repoKey}, want: sseSpec{typ: "AES256"}},
		{name: "KMS with key", enc: blob.Encryption{Type: "KMS", KMSKey: repoKey}, want: sseSpec{typ: "aws:kms", kmsKey: repoKey}},
		{name: "KMS key beats the URL's", urlSSE: "aws:kms", urlKey: urlKey, enc: blob.Encryption{Type: "KMS", KMSKey: repoKey}, want: sseSpec{typ: "aws:kms", kmsKey: repoKey}},
		{name: "KMS without key: the URL's key", urlSSE: "aws:kms", urlKey: urlKey, enc: blob.Encryption{Type: "KMS"}, want: sseSpec{typ: "aws:kms", kmsKey: urlKey}},
		{name: "KMS without key: the managed key", urlSSE: "AES256", enc: blob.Encryption{Type: "KMS"}, want: sseSpec{typ: "aws:kms"}},
		{name: "KMS_DSSE", enc: blob.Encryption{Type: "KMS_DSSE", KMSKey: repoKey}, want: sseSpec{typ: "aws:kms:dsse", kmsKey: repoKey}},
		{name: "unknown type", enc: blob.Encryption{Type: "ROT13"}, wantErr: true},
		{name: "lower-case type", enc: blob.Encryption{Type: "kms"}, wantErr: true},
		{name: "control character in key", enc: blob.Encryption{Type: "KMS", KMSKey: "a\r\nb"}, wantErr: true},
		{name: "overlong key", enc: blob.Encryption{Type: "KMS", KMSKey: strings.Repeat("k", maxKMSKeyLen+1)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(s3.New(s3.Options{Region: "us-east-1"}), Config{Bucket: "bkt", SSE: tt.urlSSE, KMSKeyID: tt.urlKey})
			got, err := s.sseFor(tt.enc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("sseFor(%+v) error %v, want error %t", tt.enc, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("sseFor(%+v) = %+v, want %+v", tt.enc, got, tt.want)
			}
		})
	}
}

// sseRequest is one S3 request that writes, as seen on the wire.
type sseRequest struct {
	op     string // put, copy, create-multipart, upload-part, upload-part-copy, complete-multipart
	path   string // the request path: bucket and key
	sse    string // X-Amz-Server-Side-Encryption
	kmsKey string // X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id
}

// sseRecorder is an http.RoundTripper in the store's client that records
// every writing request on its way to the server.
type sseRecorder struct {
	mu   sync.Mutex
	reqs []sseRequest
}

func (rt *sseRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	copySrc := req.Header.Get("X-Amz-Copy-Source") != ""
	var op string
	switch {
	case req.Method == http.MethodPost && q.Has("uploads"):
		op = "create-multipart"
	case req.Method == http.MethodPost && q.Has("uploadId"):
		op = "complete-multipart"
	case req.Method == http.MethodPut && q.Has("partNumber") && copySrc:
		op = "upload-part-copy"
	case req.Method == http.MethodPut && q.Has("partNumber"):
		op = "upload-part"
	case req.Method == http.MethodPut && copySrc:
		op = "copy"
	case req.Method == http.MethodPut:
		op = "put"
	}
	if op != "" {
		rt.mu.Lock()
		rt.reqs = append(rt.reqs, sseRequest{
			op:     op,
			path:   req.URL.Path,
			sse:    req.Header.Get("X-Amz-Server-Side-Encryption"),
			kmsKey: req.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"),
		})
		rt.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// take returns the recorded requests and forgets them.
func (rt *sseRecorder) take() []sseRequest {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r := rt.reqs
	rt.reqs = nil
	return r
}

// newRecordedStore opens a store on cfg whose requests rt records.
func newRecordedStore(t *testing.T, cfg Config, rt http.RoundTripper) *Store {
	t.Helper()
	base := openTestStore(t, cfg)
	return newStore(s3.New(base.client.Options(), func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: rt} }), cfg)
}

// TestCommitUploadEncrypted commits blobs for repositories with different
// encryption configurations, through each way of building the final object,
// and checks the SSE headers on the wire against the real test server:
// the request that creates the blob's object carries the repository's
// encryption, staged objects carry the store's default, and parts carry
// none (they inherit the multipart upload's). The test server (versitygw)
// accepts the headers without a KMS behind them, so the bytes are read back
// too; a server that enforces KMS would need kms:GenerateDataKey on the key.
func TestCommitUploadEncrypted(t *testing.T) {
	const kmsKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	cfg := newTestConfig(t)
	cfg.SSE = "AES256" // the store's default, as sse=AES256 in the URL
	rt := &sseRecorder{}
	s := newRecordedStore(t, cfg, rt)

	repos := []struct {
		name        string
		enc         blob.Encryption
		sse, kmsKey string // wanted on the request that creates the blob
	}{
		{"default repository", blob.Encryption{Type: blob.EncryptionAES256}, "AES256", ""},
		{"KMS repository", blob.Encryption{Type: blob.EncryptionKMS, KMSKey: kmsKey}, "aws:kms", kmsKey},
		{"KMS repository, managed key", blob.Encryption{Type: blob.EncryptionKMS}, "aws:kms", ""},
		{"KMS_DSSE repository", blob.Encryption{Type: blob.EncryptionKMSDSSE, KMSKey: kmsKey}, "aws:kms:dsse", kmsKey},
	}
	shapes := []struct {
		name   string
		chunks []int
		create string // the request that creates the blob's object
	}{
		{"put", []int{50, 50}, "put"},
		{"copy", []int{100}, "copy"},
		{"multipart", []int{6 * mib, 5, 5}, "create-multipart"},
	}
	for i, repo := range repos {
		for j, shape := range shapes {
			t.Run(repo.name+"/"+shape.name, func(t *testing.T) {
				total := 0
				for _, c := range shape.chunks {
					total += c
				}
				data := randBytes(t, total)
				dgst := digest.FromBytes(data)
				id := "enc-" + string(rune('a'+i)) + string(rune('a'+j))
				state := writeChunks(t, s, id, data, shape.chunks)
				for _, r := range rt.take() {
					if r.sse != "AES256" || r.kmsKey != "" {
						t.Errorf("staging %s %s: SSE %q key %q, want the store default AES256", r.op, r.path, r.sse, r.kmsKey)
					}
				}
				if err := s.CommitUploadEncrypted(context.Background(), id, state, int64(total), dgst, repo.enc); err != nil {
					t.Fatalf("CommitUploadEncrypted: %v", err)
				}
				created := false
				for _, r := range rt.take() {
					if !strings.Contains(r.path, "/blobs/") {
						t.Errorf("commit wrote %s %s outside blobs/", r.op, r.path)
						continue
					}
					want := sseRequest{op: r.op, path: r.path}
					if r.op == shape.create {
						created = true
						want.sse, want.kmsKey = repo.sse, repo.kmsKey
					}
					if r != want {
						t.Errorf("commit %s: SSE %q key %q, want %q key %q", r.op, r.sse, r.kmsKey, want.sse, want.kmsKey)
					}
				}
				if !created {
					t.Errorf("commit sent no %s request", shape.create)
				}
				if got := readBlob(t, s, dgst); !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes differing from the %d written", len(got), len(data))
				}
			})
		}
	}
}

// TestFirstCommitDecidesEncryption: a blob shared by repositories keeps the
// encryption of the repository that committed it first; a later commit of
// the same digest by a KMS repository writes nothing.
func TestFirstCommitDecidesEncryption(t *testing.T) {
	rt := &sseRecorder{}
	s := newRecordedStore(t, newTestConfig(t), rt)
	ctx := context.Background()
	data := randBytes(t, 1000)
	dgst := digest.FromBytes(data)

	state := writeChunks(t, s, "first", data, []int{len(data)})
	if err := s.CommitUploadEncrypted(ctx, "first", state, int64(len(data)), dgst, blob.Encryption{Type: blob.EncryptionAES256}); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	var creates int
	for _, r := range rt.take() {
		if strings.Contains(r.path, "/blobs/") {
			creates++
			// No URL default and an AES256 repository: the bucket's default.
			if r.sse != "" || r.kmsKey != "" {
				t.Errorf("first commit %s: SSE %q key %q, want none", r.op, r.sse, r.kmsKey)
			}
		}
	}
	if creates != 1 {
		t.Fatalf("first commit made %d writes to blobs/, want 1", creates)
	}

	state = writeChunks(t, s, "second", data, []int{len(data)})
	rt.take()
	if err := s.CommitUploadEncrypted(ctx, "second", state, int64(len(data)), dgst, blob.Encryption{Type: blob.EncryptionKMS, KMSKey: "k"}); err != nil {
		t.Fatalf("second commit: %v", err)
	}
	for _, r := range rt.take() {
		t.Errorf("second commit of an existing blob sent %s %s", r.op, r.path)
	}
	if left := keys(t, s, "uploads/second/"); len(left) != 0 {
		t.Fatalf("staged objects left after commit: %v", left)
	}
}

func TestCommitUploadEncryptedRefusesUnknownType(t *testing.T) {
	rt := &sseRecorder{}
	s := newRecordedStore(t, newTestConfig(t), rt)
	data := []byte("refused")
	state := writeChunks(t, s, "u", data, []int{len(data)})
	rt.take()
	err := s.CommitUploadEncrypted(context.Background(), "u", state, int64(len(data)), digest.FromBytes(data), blob.Encryption{Type: "SSE-C"})
	if err == nil {
		t.Fatal("commit with an unknown encryption type succeeded")
	}
	if reqs := rt.take(); len(reqs) != 0 {
		t.Fatalf("refused commit still wrote: %+v", reqs)
	}
	if _, err := s.Stat(context.Background(), digest.FromBytes(data)); err == nil {
		t.Fatal("refused commit left a blob")
	}
}
