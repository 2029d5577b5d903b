// Package postgres is the scale-out metadata store: meta.Store on PostgreSQL
// (pgx/v5), shared by every node of a deployment.
//
// The schema is the SQLite store's, in PostgreSQL's dialect; migrations are
// embedded and applied at Open under an advisory lock, so nodes that start
// together apply each one exactly once.
//
// Isolation. The store keeps two pools. Every write, whether a single Queries
// call or an InTx transaction, runs at SERIALIZABLE on the write pool, so the
// invariants the core checks inside InTx (read, check, write) hold across
// nodes: PostgreSQL only detects a conflict between two transactions when
// both are serializable, hence plain writes are too. Plain reads run on the
// read pool at the database default (READ COMMITTED), read-only: each is one
// statement, so it sees one committed snapshot and takes no predicate locks.
//
// Retries. A serialization failure or deadlock (40001, 40P01) means the
// transaction was rolled back, so it is retried with bounded, jittered
// backoff; if it keeps losing, the error wraps meta.ErrConflict. Reads are
// also retried on connection errors (they are idempotent), and so are the
// idempotent writes (PutBlob, LinkBlob, PutManifest, RecordPull). Any other
// single write is retried on a connection error only when pgx guarantees
// nothing was sent, since otherwise it may have committed. InTx re-runs fn on a connection
// error before COMMIT (an unfinished transaction never commits), never after.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/berth-registry/berth/internal/meta"
)

// Options tunes the connection pools. Zero fields keep what the DSN says
// (pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// pool_max_conn_idle_time, pool_health_check_period) or else pgxpool's
// defaults. The limits apply to each of the two pools (reads and writes).
type Options struct {
	MaxConns          int32
	MinConns          int32
	MaxConnLifetime   time.Duration
	MaxConnIdleTime   time.Duration
	HealthCheckPeriod time.Duration
	// Logger receives retry and migration messages; nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) apply(c *pgxpool.Config) {
	if o.MaxConns > 0 {
		c.MaxConns = o.MaxConns
	}
	if o.MinConns > 0 {
		c.MinConns = o.MinConns
	}
	if o.MaxConnLifetime > 0 {
		c.MaxConnLifetime = o.MaxConnLifetime
	}
	if o.MaxConnIdleTime > 0 {
		c.MaxConnIdleTime = o.MaxConnIdleTime
	}
	if o.HealthCheckPeriod > 0 {
		c.HealthCheckPeriod = o.HealthCheckPeriod
	}
}

// Store is a meta.Store backed by PostgreSQL. It is safe for concurrent use.
type Store struct {
	r   *pgxpool.Pool // plain reads: read-only sessions
	w   *pgxpool.Pool // writes and InTx: SERIALIZABLE sessions
	log *slog.Logger

	// connErrAt is when (unix nanos) a connection error was last seen. For a
	// while after one, pooled connections are pinged before use: a server
	// restart or failover kills every idle connection at once, and without
	// the ping each retry would pick up another dead one.
	connErrAt atomic.Int64
	// pingIdle: connections idle at least this long are pinged before use
	// (pgxpool's default rule). A variable for tests.
	pingIdle time.Duration
}

var _ meta.Store = (*Store)(nil)

// suspectWindow is how long after a connection error pooled connections are
// checked before use.
const suspectWindow = 5 * time.Second

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), applies pending migrations and returns the store. The schema lives
// in the connection's search_path (e.g. ?search_path=berth in the DSN).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	ms, err := meta.LoadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// The DSN may hold a password: it never goes into an error or a log.
	base, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	opts.apply(base)
	if base.MinConns > base.MaxConns {
		return nil, fmt.Errorf("postgres: MinConns %d exceeds MaxConns %d", base.MinConns, base.MaxConns)
	}

	s := &Store{log: opts.Logger, pingIdle: time.Second}
	if s.log == nil {
		s.log = slog.Default()
	}
	shouldPing := func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration >= s.pingIdle || time.Now().UnixNano()-s.connErrAt.Load() < int64(suspectWindow)
	}

	wcfg := base.Copy()
	wcfg.ShouldPing = shouldPing
	setParam(wcfg, "default_transaction_isolation", "serializable")
	rcfg := base.Copy()
	rcfg.ShouldPing = shouldPing
	setParam(rcfg, "default_transaction_read_only", "on")

	if s.w, err = pgxpool.NewWithConfig(ctx, wcfg); err != nil {
		return nil, fmt.Errorf("postgres: create write pool: %w", err)
	}
	if s.r, err = pgxpool.NewWithConfig(ctx, rcfg); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("postgres: create read pool: %w", err)
	}
	if err := s.init(ctx, ms); err != nil {
		return nil, errors.Join(fmt.Errorf("postgres: open: %w", err), s.Close())
	}
	return s, nil
}

func setParam(c *pgxpool.Config, key, value string) {
	if c.ConnConfig.RuntimeParams == nil {
		c.ConnConfig.RuntimeParams = map[string]string{}
	}
	c.ConnConfig.RuntimeParams[key] = value
}

func (s *Store) init(ctx context.Context, ms []meta.Migration) error {
	start := time.Now()
	if err := migrate(ctx, s.w, ms); err != nil {
		return err
	}
	s.log.DebugContext(ctx, "meta/postgres: schema up to date", "version", len(ms), "took", time.Since(start))
	if err := s.r.Ping(ctx); err != nil {
		return fmt.Errorf("ping read pool: %w", err)
	}
	return nil
}

// Close closes both pools, waiting for connections in use to be returned.
func (s *Store) Close() error {
	if s.r != nil {
		s.r.Close()
	}
	if s.w != nil {
		s.w.Close()
	}
	return nil
}

// InTx runs fn in one SERIALIZABLE transaction and commits it if fn returns
// nil. When PostgreSQL aborts the transaction for a serialization failure or
// deadlock, or the connection fails before COMMIT, fn is run again from the
// start in a new transaction: fn must therefore be re-runnable, with no
// effects outside q that a second run would repeat (build results in
// variables that each run overwrites). fn must use only q.
func (s *Store) InTx(ctx context.Context, fn func(q meta.Queries) error) error {
	err := s.retry(ctx, "transaction", txPolicy, retryableTx, func() error { return s.inTx(ctx, fn) })
	var ce *commitError
	if errors.As(err, &ce) {
		return fmt.Errorf("postgres: commit: %w", conflict(ce.err))
	}
	return conflict(err)
}

// commitError marks a failed COMMIT: after a connection error there, the
// outcome is unknown and the transaction must not be run again.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

func (s *Store) inTx(ctx context.Context, fn func(q meta.Queries) error) (err error) {
	tx, err := s.w.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	committed := false
	defer func() {
		// Also runs when fn panics. A detached context so a canceled caller
		// still returns a clean connection to the pool.
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if rbErr := tx.Rollback(rctx); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) && err != nil {
				err = errors.Join(err, fmt.Errorf("postgres: rollback: %w", rbErr))
			}
		}
	}()
	if err := fn(querier{db: tx}); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(ctx); err != nil {
		return &commitError{err: err}
	}
	return nil
}

// reads returns a querier on the read pool.
func (s *Store) reads() querier { return querier{db: s.r} }

// writes returns a querier on the write pool.
func (s *Store) writes() querier { return querier{db: s.w} }

// read runs one idempotent read, retrying it on connection errors.
func read[T any](ctx context.Context, s *Store, op string, fn func(q querier) (T, error)) (T, error) {
	var v T
	err := s.retry(ctx, op, readPolicy, retryableRead, func() error {
		var err error
		v, err = fn(s.reads())
		return err
	})
	return v, err
}

// write runs one single-statement write in its own (serializable)
// transaction, retrying it when it certainly did not commit.
func (s *Store) write(ctx context.Context, op string, fn func(q querier) error) error {
	err := s.retry(ctx, op, txPolicy, retryableWrite, func() error { return fn(s.writes()) })
	return conflict(err)
}

// writeIdempotent is write for a statement whose second run, after a first
// that may have committed, has the same result (INSERT ... ON CONFLICT DO
// NOTHING, setting a column to a given value): it is also retried on
// connection errors.
func (s *Store) writeIdempotent(ctx context.Context, op string, fn func(q querier) error) error {
	err := s.retry(ctx, op, txPolicy, retryableIdempotentWrite, func() error { return fn(s.writes()) })
	return conflict(err)
}

// conflict adds meta.ErrConflict to a serialization failure or deadlock that
// outlasted the retries: the caller lost a race and may try again.
func conflict(err error) error {
	if err != nil && isSerializationFailure(err) && !errors.Is(err, meta.ErrConflict) {
		return fmt.Errorf("%w: %w", meta.ErrConflict, err)
	}
	return err
}

type retryPolicy struct {
	attempts  int
	base, max time.Duration
}

var (
	// Reads only retry connection errors: a couple of attempts find a live
	// connection (pings are on by then) or show the server is down.
	readPolicy = retryPolicy{attempts: 3, base: 10 * time.Millisecond, max: 100 * time.Millisecond}
	// Of writers contending on one row only one wins each round; the others
	// retry after a fully jittered, growing delay, which spreads a burst of
	// contenders out. 16 writers on one tag need up to ~10 attempts here.
	txPolicy = retryPolicy{attempts: 20, base: 4 * time.Millisecond, max: 400 * time.Millisecond}
)

// backoff returns a random delay in [0, d] with d doubling from base up to
// max ("full jitter": contenders that collided rarely collide again).
func (p retryPolicy) backoff(attempt int) time.Duration {
	d := p.base << min(attempt-1, 20)
	if d > p.max || d <= 0 {
		d = p.max
	}
	return rand.N(d + 1)
}

func (s *Store) retry(ctx context.Context, op string, p retryPolicy, retryable func(error) bool, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if isConnError(err) {
			s.connErrAt.Store(time.Now().UnixNano())
		}
		if attempt >= p.attempts || ctx.Err() != nil || !retryable(err) {
			return unavailable(err)
		}
		d := p.backoff(attempt)
		s.log.DebugContext(ctx, "meta/postgres: retrying", "op", op, "attempt", attempt, "delay", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return unavailable(err)
		case <-t.C:
		}
	}
}

func retryableRead(err error) bool { return isConnError(err) || isSerializationFailure(err) }

func retryableWrite(err error) bool { return isSerializationFailure(err) || pgconn.SafeToRetry(err) }

func retryableIdempotentWrite(err error) bool { return isSerializationFailure(err) || isConnError(err) }

func retryableTx(err error) bool {
	var ce *commitError
	if errors.As(err, &ce) {
		return isSerializationFailure(err) || pgconn.SafeToRetry(err)
	}
	return isSerializationFailure(err) || isConnError(err)
}

// isSerializationFailure reports an error after which PostgreSQL rolled the
// transaction back so that it can simply be run again.
func isSerializationFailure(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	return false
}

// isConnError reports an error of the connection rather than of the
// statement: the server went away, was shut down or is not accepting
// connections yet.
func isConnError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection_exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}
