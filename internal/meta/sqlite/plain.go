// The plain-SQL queriers (IAM, lifecycle, GC, templates, scanning) run their
// statements on the read pool or a write transaction, not through the
// prepared-statement table of queries.go. plainConn is what they share.

package sqlite

import (
	"context"
	"database/sql"
)

// runner is what *sql.DB and *sql.Tx have in common.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// plainConn is the read pool or a write transaction.
type plainConn struct{ db runner }

// plain returns the plainConn of q: its transaction, or the read pool.
func (q *querier) plain() plainConn { return plainConn{db: q.db} }

// exec runs query and returns the number of rows it affected.
func (p plainConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(p.db.ExecContext(ctx, query, args...))
}

// execOne runs a statement that must touch exactly one existing row.
func (p plainConn) execOne(ctx context.Context, query string, args ...any) error {
	return exactlyOne(p.exec(ctx, query, args...))
}

func (p plainConn) row(ctx context.Context, query string, args ...any) *sql.Row {
	return p.db.QueryRowContext(ctx, query, args...)
}

func (p plainConn) rows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := p.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, classify(err)
	}
	return rows, nil
}
