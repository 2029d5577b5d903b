// Package s3 is the S3 blob store.
//
// # Layout
//
//	<prefix>/blobs/<alg>/<hex>                     committed blobs
//	<prefix>/uploads/<id>/part-<offset>-<nonce>    staged parts (>= 5 MiB each)
//	<prefix>/uploads/<id>/tail-<offset>-<nonce>    staged small chunks (the pending tail)
//
// # Uploads
//
// An upload in progress is a list of staged objects whose concatenation is
// the upload's bytes: zero or more parts, then the pending tail. The list is
// the upload's whole state; it lives in the backend state that the core keeps
// in the metadata store, so consecutive chunks of one upload may be written
// by different nodes and nothing is held in memory or on local disk between
// calls.
//
// WriteUpload streams the chunk through one pooled buffer of PartSize bytes
// (8 MiB by default), never the whole blob. Each time the pending tail plus
// new bytes reach S3's 5 MiB minimum part size, it writes them as one part
// object (reading the tail objects back into the front of the buffer first);
// a remainder smaller than 5 MiB at the end of a chunk becomes a new tail
// object. So every part but the last is big enough to be a multipart-upload
// part, whatever sizes the client's chunks have. When a chunk pattern would
// pile up more than maxTails tail objects, the tail is compacted into one.
//
// Staged object names carry a random nonce and are never overwritten, so a
// failed or concurrent write can never change bytes that a saved state refers
// to: a loser's objects are orphans, removed with the upload.
//
// CommitUpload copies the staged bytes server-side into the blob's final key:
// one CopyObject when a single staged object holds them all, one PutObject
// for small blobs held in tail objects, else a multipart upload created at the
// final key whose parts are UploadPartCopy'd from the staged parts (the tail
// becomes the last part). Completing that upload is the commit point: S3
// object writes are atomic, so readers see no blob or a whole one. The
// multipart upload cannot be opened when the upload starts, because its key
// is the digest, which is known only at commit; and S3 cannot read back the
// parts of an unfinished multipart upload, which ReadUpload needs. Staging
// parts as ordinary objects avoids both problems, at the cost of the same one
// server-side copy that completing into a temporary key would need.
//
// If the final key already exists with the right size, CommitUpload only
// removes the staged objects.
//
// Limits: an upload has at most 9,999 staged parts of 5 MiB to PartSize
// each, so a blob can always reach 48 GiB, and 78 GiB when the client's
// chunks are large (the default 8 MiB parts).
//
// # Encryption
//
// A blob is encrypted as the repository whose push first commits it asks
// (CommitUploadEncrypted; see sseFor for the mapping of ECR's AES256, KMS
// and KMS_DSSE): blobs are shared by digest, so later pushes, links and
// mounts of the same digest reuse the object as it is. The URL's sse and
// kms-key are the default: for staged upload objects, for AES256
// repositories, and for the key of KMS repositories that name none. The
// SSE headers go on the request that creates the final object (PutObject,
// CopyObject or CreateMultipartUpload; copied parts inherit the latter's).
// KMS needs kms:GenerateDataKey and kms:Decrypt on the keys in use.
//
// # Permissions
//
// The credentials need s3:GetObject, s3:PutObject, s3:DeleteObject,
// s3:ListBucket (also used by New's HeadBucket check), and for the stale
// upload sweep s3:ListBucketMultipartUploads and s3:AbortMultipartUpload.
//
// # Errors
//
// Missing objects are reported as blob.ErrNotFound. Network failures, 5xx
// responses and throttling are wrapped with ErrUnavailable (see IsUnavailable)
// so the caller can report them as a temporary outage.
package s3

import (
	"context"
	_ "crypto/sha256" // registers sha256 for digest.Digest.Validate
	_ "crypto/sha512" // registers sha384 and sha512
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

const (
	// MinPartSize is S3's minimum size of every multipart-upload part but the last.
	MinPartSize = 5 << 20
	// DefaultPartSize is the default size of the per-write buffer, and so the
	// largest staged part.
	DefaultPartSize = 8 << 20
	// maxPartSize bounds Config.PartSize: the buffer is held in memory.
	maxPartSize = 256 << 20
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
	// maxTails bounds the tail objects of one upload (and so the state size);
	// beyond it, the tail is compacted into one object.
	maxTails = 64
	// maxPrefixLen keeps keys well inside S3's 1024-byte limit.
	maxPrefixLen = 512
	// copyWorkers bounds concurrent UploadPartCopy calls in one commit.
	copyWorkers = 4
	// maxPresignTTL is SigV4's limit on presigned URL lifetime.
	maxPresignTTL = 7 * 24 * time.Hour
	// cleanupTimeout bounds best-effort cleanup after the caller's context ends.
	cleanupTimeout = 30 * time.Second
)

// ErrUnavailable marks errors caused by the S3 service being unreachable,
// failing (5xx) or throttling: temporary conditions, not bad requests.
var ErrUnavailable = blob.ErrUnavailable

// IsUnavailable reports whether err was caused by S3 being unreachable,
// failing or throttling.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// Config selects a bucket and how to reach it. Credentials come from the AWS
// default chain (environment, shared config, web identity, instance role).
type Config struct {
	Bucket string
	// Prefix is prepended to every key, without leading or trailing slash.
	Prefix string
	// Endpoint overrides the S3 endpoint (e.g. http://127.0.0.1:7070).
	Endpoint string
	// Region defaults to the AWS default chain's region, else us-east-1.
	Region string
	// PathStyle addresses the bucket in the path rather than the host name,
	// as most S3-compatible servers need.
	PathStyle bool
	// SSE is the server-side encryption to request: "", "AES256" or "aws:kms".
	SSE string
	// KMSKeyID is the KMS key for SSE "aws:kms" (empty: the bucket's default).
	KMSKeyID string

	// PartSize is the write buffer and largest staged part size; 0 means
	// DefaultPartSize. Not settable from the URL.
	PartSize int64
	// Logger receives warnings about best-effort cleanup; nil means slog.Default().
	Logger *slog.Logger
}

// ParseURL parses
//
//	s3://BUCKET[/PREFIX][?endpoint=URL&region=R&path-style=true&sse=AES256|aws:kms&kms-key=ID]
//
// Credentials are never taken from the URL.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("s3 blob store url: %w", err)
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("s3 blob store url: scheme %q, want s3", u.Scheme)
	}
	if u.Opaque != "" {
		return Config{}, errors.New("s3 blob store url: want s3://BUCKET/PREFIX")
	}
	if u.User != nil {
		return Config{}, errors.New("s3 blob store url: credentials do not belong in the url; use the AWS default credential chain")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return Config{}, errors.New("s3 blob store url: unexpected fragment")
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("s3 blob store url: query: %w", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return Config{}, fmt.Errorf("s3 blob store url: parameter %q given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "path-style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("s3 blob store url: path-style=%q: want true or false", v)
			}
			cfg.PathStyle = b
		case "sse":
			cfg.SSE = v
		case "kms-key":
			cfg.KMSKeyID = v
		default:
			return Config{}, fmt.Errorf("s3 blob store url: unknown parameter %.40q", k)
		}
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) validate() error {
	if err := validateBucket(c.Bucket); err != nil {
		return err
	}
	if err := validatePrefix(c.Prefix); err != nil {
		return err
	}
	if c.Endpoint != "" {
		e, err := url.Parse(c.Endpoint)
		if err != nil {
			return fmt.Errorf("s3 blob store: endpoint: %w", err)
		}
		if e.Scheme != "http" && e.Scheme != "https" || e.Host == "" || e.User != nil || e.RawQuery != "" || e.Fragment != "" {
			return fmt.Errorf("s3 blob store: endpoint %.100q: want http(s)://HOST[:PORT][/PATH]", c.Endpoint)
		}
	}
	if len(c.Region) > 64 || !isRegion(c.Region) {
		return fmt.Errorf("s3 blob store: invalid region %.70q", c.Region)
	}
	switch c.SSE {
	case "", string(types.ServerSideEncryptionAes256):
		if c.KMSKeyID != "" {
			return errors.New("s3 blob store: kms-key needs sse=aws:kms")
		}
	case string(types.ServerSideEncryptionAwsKms):
	default:
		return fmt.Errorf("s3 blob store: sse %.40q: want AES256 or aws:kms", c.SSE)
	}
	if !validKMSKey(c.KMSKeyID) {
		return errors.New("s3 blob store: invalid kms-key")
	}
	if c.PartSize != 0 && (c.PartSize < MinPartSize+1<<20 || c.PartSize > maxPartSize) {
		return fmt.Errorf("s3 blob store: part size %d out of range %d..%d", c.PartSize, MinPartSize+1<<20, maxPartSize)
	}
	return nil
}

// validateBucket applies S3's bucket naming rules (3-63 characters of
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit).
func validateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("s3 blob store: bucket name %.70q: want 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '.' && c != '-' || i == 0 || i == len(b)-1) {
			return fmt.Errorf("s3 blob store: bucket name %q: invalid character at %d", b, i)
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("s3 blob store: bucket name %q: consecutive dots", b)
	}
	return nil
}

// validatePrefix accepts slash-separated segments of printable characters,
// with no empty, "." or ".." segment, so keys stay unambiguous.
func validatePrefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > maxPrefixLen {
		return fmt.Errorf("s3 blob store: prefix longer than %d bytes", maxPrefixLen)
	}
	if strings.ContainsFunc(p, isControl) || strings.ContainsAny(p, `\`) {
		return fmt.Errorf("s3 blob store: prefix %.80q: invalid character", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("s3 blob store: prefix %.80q: empty, . or .. segment", p)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isRegion(r string) bool {
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Store is a blob.Store in an S3 bucket.
type Store struct {
	client   *s3.Client
	presign  *s3.PresignClient
	bucket   string
	prefix   string // "" or ending in "/"
	sse      types.ServerSideEncryption
	kmsKey   string
	partSize int64
	log      *slog.Logger
	bufPool  sync.Pool // *[]byte of partSize
}

var (
	_ blob.Store               = (*Store)(nil)
	_ blob.EncryptingCommitter = (*Store)(nil)
)

// New connects to the bucket and checks that it is reachable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		// Custom endpoints still need a region to sign with.
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	s := newStore(client, cfg)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, s.wrap(err, "check bucket %s", cfg.Bucket)
	}
	return s, nil
}

func newStore(client *s3.Client, cfg Config) *Store {
	s := &Store{
		client:   client,
		presign:  s3.NewPresignClient(client),
		bucket:   cfg.Bucket,
		sse:      types.ServerSideEncryption(cfg.SSE),
		kmsKey:   cfg.KMSKeyID,
		partSize: cfg.PartSize,
		log:      cfg.Logger,
	}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	size := s.partSize
	s.bufPool.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return s
}

// blobKey maps a digest to its key, refusing anything that is not a valid
// digest of a supported algorithm.
func (s *Store) blobKey(dgst digest.Digest) (string, error) {
	alg, hex, err := blob.DigestParts(dgst)
	if err != nil {
		return "", fmt.Errorf("s3 blob store: %w", err)
	}
	return s.prefix + "blobs/" + alg + "/" + hex, nil
}

// uploadDir maps an upload id to the key prefix of its staged objects.
func (s *Store) uploadDir(id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return s.prefix + "uploads/" + id + "/", nil
}

// wrap adds context to an S3 error and classifies it as not found or
// unavailable.
func (s *Store) wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case isNotFound(err):
		return fmt.Errorf("s3 blob store: %s: %w (%w)", what, blob.ErrNotFound, err)
	case isUnavailable(err):
		return fmt.Errorf("s3 blob store: %s: %w (%w)", what, ErrUnavailable, err)
	default:
		return fmt.Errorf("s3 blob store: %s: %w", what, err)
	}
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nsu) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return true
		case "NoSuchBucket":
			return false // a configuration error, not a missing blob
		}
	}
	return httpStatus(err) == 404 && !isAPIError(err, "NoSuchBucket")
}

func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isUnavailable reports failures of the service or the network rather than
// of the request. The caller's own cancellation is neither.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if st := httpStatus(err); st >= 500 || st == 429 {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException", "RequestThrottled":
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var se interface{ ConnectionError() bool }
	if errors.As(err, &se) && se.ConnectionError() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// Stat returns the size of a committed blob.
func (s *Store) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key, err := s.blobKey(dgst)
	if err != nil {
		return 0, err
	}
	size, err := s.headSize(ctx, key)
	if err != nil {
		return 0, s.wrap(err, "stat %s", dgst)
	}
	return size, nil
}

func (s *Store) headSize(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		return 0, fmt.Errorf("object %s: no content length", key)
	}
	return *out.ContentLength, nil
}

// Open returns a reader over a committed blob. It issues one GetObject for
// the whole blob at once; a Seek elsewhere reopens it lazily at the new
// offset with a Range request, and Seek(0, io.SeekEnd) costs no request. The
// reader makes its requests with ctx, so it must not outlive it.
func (s *Store) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	key, err := s.blobKey(dgst)
	if err != nil {
		return nil, 0, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, 0, s.wrap(err, "open %s", dgst)
	}
	if out.ContentLength == nil || *out.ContentLength < 0 {
		out.Body.Close()
		return nil, 0, fmt.Errorf("s3 blob store: open %s: no content length", dgst)
	}
	size := *out.ContentLength
	return &objectReader{ctx: ctx, s: s, key: key, size: size, body: out.Body}, size, nil
}

// PresignGet returns a URL from which the blob can be fetched without
// credentials for ttl; the server may redirect blob GETs to it.
func (s *Store) PresignGet(ctx context.Context, dgst digest.Digest, ttl time.Duration) (string, error) {
	key, err := s.blobKey(dgst)
	if err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > maxPresignTTL {
		return "", fmt.Errorf("s3 blob store: presign ttl %s out of range (0, %s]", ttl, maxPresignTTL)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", s.wrap(err, "presign %s", dgst)
	}
	return req.URL, nil
}

// Delete removes a committed blob; a missing blob is not an error.
func (s *Store) Delete(ctx context.Context, dgst digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.blobKey(dgst)
	if err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil && !isNotFound(err) {
		return s.wrap(err, "delete %s", dgst)
	}
	return nil
}

// copySource encodes bucket/key for CopySource headers.
func (s *Store) copySource(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.bucket + "/" + strings.Join(segs, "/")
}

// withoutCancel gives best-effort cleanup a bounded life of its own, so that
// a request cancelled midway still releases what it created.
func withoutCancel(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// ValidateID reports whether id can name an upload (see blob.ValidateUploadID).
func ValidateID(id string) error {
	if err := blob.ValidateUploadID(id); err != nil {
		return fmt.Errorf("s3 blob store: %w", err)
	}
	return nil
}
