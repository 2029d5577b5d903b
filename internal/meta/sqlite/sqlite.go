// Package sqlite is the embedded metadata store: meta.Store on a single SQLite
// database file (pure Go, modernc.org/sqlite).
//
// The database runs in WAL mode with synchronous=FULL, so a committed
// transaction survives a crash. All writes go through one connection and
// begin with BEGIN IMMEDIATE, which serializes writers without SQLITE_BUSY
// retries; writers waiting at the same time share one transaction and one
// COMMIT (group commit, group.go). Reads use a separate pool so they never
// queue behind a write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/berth-registry/berth/internal/meta"
)

// busyTimeoutMS bounds how long a connection waits for a lock held by another
// process (or a checkpoint) before failing.
const busyTimeoutMS = 10000

// Store is a meta.Store backed by SQLite. It is safe for concurrent use.
type Store struct {
	w     *sql.DB // exactly one connection: every write transaction
	r     *sql.DB // read pool, query_only
	wst   stmts   // all statements, prepared on the writer
	rst   stmts   // read statements, prepared on the read pool
	reads querier // Queries over the read pool
	grp   *group  // the write queue in front of w (group commit)
	// syncNormal: w was last set to synchronous=NORMAL (lazy groups).
	// Only the committer goroutine touches it.
	syncNormal bool
}

var _ meta.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolve %s: %w", path, err)
	}
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	w, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_txlock": {"immediate"},
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
			"foreign_keys(1)",
			"journal_mode(WAL)",
			"synchronous(FULL)",
		},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w}
	if err := s.init(ctx, abs, ms); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s: %w", abs, err), s.Close())
	}
	s.grp = newGroup()
	go s.run()
	return s, nil
}

func (s *Store) init(ctx context.Context, abs string, ms []meta.Migration) error {
	if err := checkPragmas(ctx, s.w); err != nil {
		return err
	}
	if err := migrate(ctx, s.w, ms); err != nil {
		return err
	}

	// The read pool is opened after the writer has switched the file to WAL,
	// so no reader ever sees a rollback-journal database.
	r, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_query_only": {"1"},
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
			"foreign_keys(1)",
		},
	}))
	if err != nil {
		return fmt.Errorf("open read pool: %w", err)
	}
	s.r = r
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	// Keep every reader open: a new connection must re-prepare its statements.
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)

	if err := s.wst.prepare(ctx, s.w, false); err != nil {
		return fmt.Errorf("prepare writer statements: %w", err)
	}
	if err := s.rst.prepare(ctx, s.r, true); err != nil {
		return fmt.Errorf("prepare reader statements: %w", err)
	}
	s.reads = querier{st: &s.rst, db: s.r}
	return nil
}

// checkPragmas verifies that the settings durability and cascades depend on
// took effect, since a silently ignored pragma would only show after a crash.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var sync, fk int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("read synchronous: %w", err)
	}
	if sync != 2 { // FULL
		return fmt.Errorf("synchronous is %d, want 2 (FULL)", sync)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	if fk != 1 {
		return errors.New("foreign keys are not enabled")
	}
	return nil
}

// dsn builds a file: URI so that any byte in the path (such as '?') is
// escaped rather than taken for the start of the parameters.
func dsn(abs string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}
	return u.String()
}

// Close releases the statements and connections.
func (s *Store) Close() error {
	if s.grp != nil {
		// Let the groups in flight finish before their statements close.
		s.grp.close()
	}
	var errs []error
	errs = append(errs, s.rst.close(), s.wst.close())
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// InTx runs fn in one write transaction (serializable: all writes go through
// the single writer connection). The transaction may be shared with other
// writers waiting at the same time (group commit, see group.go), each inside
// its own savepoint: if fn fails, only its own work is rolled back, and if
// it succeeds, InTx returns only after the shared COMMIT has succeeded. fn
// runs at most once. fn must use only q: calling a Store method from inside
// fn would wait for the group that is waiting for fn, a deadlock.
func (s *Store) InTx(ctx context.Context, fn func(q meta.Queries) error) error {
	return s.write(ctx, func(q *querier) error { return fn(q) })
}

// classify maps driver errors onto the meta sentinels, keeping the driver's
// message for diagnosis.
func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return meta.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", meta.ErrExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// Every foreign key points at the owner of the row being written
			// (repository, manifest, blob), so a violation means it is missing.
			return fmt.Errorf("%w: %w", meta.ErrNotFound, err)
		}
	}
	return err
}
