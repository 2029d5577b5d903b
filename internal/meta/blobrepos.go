package meta

import (
	"context"

	"github.com/opencontainers/go-digest"
)

// BlobRepositoryQueries find where a blob is linked.
type BlobRepositoryQueries interface {
	// BlobRepositories returns up to limit repositories that link dgst, by name.
	BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error)
}
