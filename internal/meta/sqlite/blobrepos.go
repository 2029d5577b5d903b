package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/opencontainers/go-digest"
)

const sqlBlobRepositories = `SELECT repository FROM repository_blobs WHERE digest = $1 ORDER BY repository LIMIT $2`

// blobRepositories runs the query on a connection or transaction.
func blobRepositories(ctx context.Context, db interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, dgst digest.Digest, limit int) ([]string, error) {
	rows, err := db.QueryContext(ctx, sqlBlobRepositories, string(dgst), limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("repositories of blob %s: %w", dgst, classify(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("repositories of blob %s: %w", dgst, err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repositories of blob %s: %w", dgst, err)
	}
	return out, nil
}

func (q *querier) BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error) {
	return blobRepositories(ctx, q.db, dgst, limit)
}

// BlobRepositories implements meta.Queries on the read pool.
func (s *Store) BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error) {
	return blobRepositories(ctx, s.r, dgst, limit)
}
