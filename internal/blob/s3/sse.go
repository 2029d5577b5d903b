package s3

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/berth-registry/berth/internal/blob"
)

// maxKMSKeyLen bounds a KMS key id, alias or ARN (AWS allows 2048).
const maxKMSKeyLen = 2048

// validKMSKey reports whether k can be sent as a KMS key id, alias or ARN
// (empty: none): bounded, and free of control characters.
func validKMSKey(k string) bool {
	return len(k) <= maxKMSKeyLen && !strings.ContainsFunc(k, isControl)
}

// sseSpec is the server-side encryption requested for one object.
type sseSpec struct {
	typ    types.ServerSideEncryption // "" asks for nothing: the bucket's default
	kmsKey string                     // only with an aws:kms type
}

// headers returns the request fields for s: the encryption type and the
// KMS key id, nil when there is none (the SDK omits nil headers).
func (s sseSpec) headers() (types.ServerSideEncryption, *string) {
	if s.kmsKey == "" {
		return s.typ, nil
	}
	k := s.kmsKey
	return s.typ, &k
}

// defaultSSE is the store's configured encryption (sse= and kms-key= of the
// URL). Staged upload objects use it, and so do blobs whose repository asks
// for AES256.
func (s *Store) defaultSSE() sseSpec { return sseSpec{typ: s.sse, kmsKey: s.kmsKey} }

// sseFor maps a repository's encryption configuration onto S3:
//
//   - "" or AES256: the store's default. AES256 means keys the storage
//     manages, which the operator chose with the URL: nothing (the bucket's
//     default encryption, SSE-S3 on AWS), sse=AES256, or sse=aws:kms when
//     every blob must use KMS.
//   - KMS: aws:kms with the repository's key; without one, the URL's
//     kms-key when the URL asks for aws:kms, else S3's AWS managed key.
//   - KMS_DSSE: aws:kms:dsse, keys as for KMS.
//
// An unknown type is an error rather than a silently weaker encryption.
func (s *Store) sseFor(enc blob.Encryption) (sseSpec, error) {
	if !validKMSKey(enc.KMSKey) {
		return sseSpec{}, errors.New("s3 blob store: invalid kms key")
	}
	key := enc.KMSKey
	if key == "" && s.sse == types.ServerSideEncryptionAwsKms {
		key = s.kmsKey
	}
	switch enc.Type {
	case "", blob.EncryptionAES256:
		// A key means nothing here (ECR refuses one with AES256).
		return s.defaultSSE(), nil
	case blob.EncryptionKMS:
		return sseSpec{typ: types.ServerSideEncryptionAwsKms, kmsKey: key}, nil
	case blob.EncryptionKMSDSSE:
		return sseSpec{typ: types.ServerSideEncryptionAwsKmsDsse, kmsKey: key}, nil
	default:
		return sseSpec{}, fmt.Errorf("s3 blob store: unsupported encryption type %.40q", enc.Type)
	}
}
