package registry

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"
)

// ErrNoPresign reports a blob store that cannot hand out download URLs (the
// filesystem store): the caller serves the bytes itself.
var ErrNoPresign = errors.New("blob store cannot presign downloads")

// maxBlobURLTTL bounds presigned URL lifetimes (SigV4 allows 7 days; a
// redirect is followed at once, so minutes are plenty).
const maxBlobURLTTL = time.Hour

// blobPresigner is a blob store that can presign GETs (the S3 store).
type blobPresigner interface {
	PresignGet(ctx context.Context, dgst digest.Digest, ttl time.Duration) (string, error)
}

// BlobURL returns a URL from which a blob linked into repo can be downloaded
// without credentials for ttl (clamped to (0, 1h]), so that a blob GET can
// be answered with a redirect. The same checks as OpenBlob apply (name,
// digest, the blob linked into the repository). It returns ErrNoPresign when
// the blob store cannot presign.
func (r *Registry) BlobURL(ctx context.Context, repo string, dgst digest.Digest, ttl time.Duration) (string, BlobInfo, error) {
	p, ok := r.blobs.(blobPresigner)
	if !ok {
		return "", BlobInfo{}, ErrNoPresign
	}
	b, err := r.repositoryBlob(ctx, repo, dgst)
	if err != nil {
		return "", BlobInfo{}, err
	}
	if ttl <= 0 || ttl > maxBlobURLTTL {
		ttl = maxBlobURLTTL
	}
	u, err := p.PresignGet(ctx, b.Digest, ttl)
	if err != nil {
		return "", BlobInfo{}, internal(err, "presign blob %s", b.Digest)
	}
	return u, BlobInfo{Digest: b.Digest, Size: b.Size}, nil
}
