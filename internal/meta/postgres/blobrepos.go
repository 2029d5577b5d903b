package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"
)

const sqlBlobRepositories = `SELECT repository FROM repository_blobs WHERE digest = $1 ORDER BY repository LIMIT $2`

func (q querier) BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error) {
	out, err := collect(ctx, q.db, func(r pgx.Row) (*string, error) {
		var name string
		if err := r.Scan(&name); err != nil {
			return nil, err
		}
		return &name, nil
	}, sqlBlobRepositories, string(dgst), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("repositories of blob %s: %w", dgst, err)
	}
	return out, nil
}

// BlobRepositories implements meta.Queries on the read pool.
func (s *Store) BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error) {
	return read(ctx, s, "repositories of blob", func(q querier) ([]string, error) { return q.BlobRepositories(ctx, dgst, limit) })
}
