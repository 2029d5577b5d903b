package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berth-registry/berth/internal/meta"
)

func pgErr(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }

func TestClassify(t *testing.T) {
	other := errors.New("other")
	tests := []struct {
		name string
		err  error
		want error // nil: returned unchanged
	}{
		{"no rows", pgx.ErrNoRows, meta.ErrNotFound},
		{"wrapped no rows", fmt.Errorf("scan: %w", pgx.ErrNoRows), meta.ErrNotFound},
		{"unique violation", pgErr("23505"), meta.ErrExists},
		{"foreign key violation", pgErr("23503"), meta.ErrNotFound},
		{"not null violation", pgErr("23502"), nil},
		{"serialization failure", pgErr("40001"), nil},
		{"other", other, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			if tc.want == nil {
				if got != tc.err {
					t.Fatalf("classify(%v) = %v, want it unchanged", tc.err, got)
				}
				return
			}
			if !errors.Is(got, tc.want) {
				t.Fatalf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
			var pe *pgconn.PgError
			if errors.As(tc.err, &pe) && !errors.As(got, &pe) {
				t.Fatalf("classify(%v) = %v lost the driver error", tc.err, got)
			}
		})
	}
}

func TestRetryPredicates(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("get tag r:t: %w", err) }
	commit := func(err error) error { return &commitError{err: err} }
	tests := []struct {
		name                  string
		err                   error
		conn, serial          bool
		read, write, tx       bool
		conflictAfterRetrying bool
	}{
		{"serialization failure", wrap(pgErr("40001")), false, true, true, true, true, true},
		{"deadlock", pgErr("40P01"), false, true, true, true, true, true},
		{"serialization failure at commit", commit(pgErr("40001")), false, true, true, true, true, true},
		{"admin shutdown", wrap(pgErr("57P01")), true, false, true, false, true, false},
		{"admin shutdown at commit", commit(pgErr("57P01")), true, false, true, false, false, false},
		{"connection failure", pgErr("08006"), true, false, true, false, true, false},
		{"unexpected EOF", wrap(io.ErrUnexpectedEOF), true, false, true, false, true, false},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true, false, true, false, true, false},
		{"unique violation", pgErr("23505"), false, false, false, false, false, false},
		{"not found", meta.ErrNotFound, false, false, false, false, false, false},
		{"canceled", wrap(context.Canceled), false, false, false, false, false, false},
		{"deadline", context.DeadlineExceeded, false, false, false, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checks := []struct {
				what string
				got  bool
				want bool
			}{
				{"isConnError", isConnError(tc.err), tc.conn},
				{"isSerializationFailure", isSerializationFailure(tc.err), tc.serial},
				{"retryableRead", retryableRead(tc.err), tc.read},
				{"retryableWrite", retryableWrite(tc.err), tc.write},
				{"retryableTx", retryableTx(tc.err), tc.tx},
				{"retryableIdempotentWrite", retryableIdempotentWrite(tc.err), tc.conn || tc.serial},
				{"conflict", errors.Is(conflict(tc.err), meta.ErrConflict), tc.conflictAfterRetrying},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s(%v) = %v, want %v", c.what, tc.err, c.got, c.want)
				}
			}
		})
	}
}

func TestRetry(t *testing.T) {
	s := &Store{log: quiet}
	p := retryPolicy{attempts: 4, base: time.Microsecond, max: time.Microsecond}
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil after the list
		retryable func(error) bool
		wantCalls int
		wantErr   error
	}{
		{"success", nil, retryableTx, 1, nil},
		{"retried then success", []error{pgErr("40001"), pgErr("40P01")}, retryableTx, 3, nil},
		{"gives up", []error{pgErr("40001"), pgErr("40001"), pgErr("40001"), pgErr("40001"), pgErr("40001")}, retryableTx, 4, &pgconn.PgError{}},
		{"not retryable", []error{meta.ErrExists}, retryableTx, 1, meta.ErrExists},
		{"write not retried on ambiguous connection error", []error{io.ErrUnexpectedEOF}, retryableWrite, 1, io.ErrUnexpectedEOF},
		{"read retried on connection error", []error{io.ErrUnexpectedEOF}, retryableRead, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := s.retry(t.Context(), tc.name, p, tc.retryable, func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
			case *pgconn.PgError:
				if !errors.As(err, &want) {
					t.Errorf("err = %v, want a PgError", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

func TestRetryStopsOnCanceledContext(t *testing.T) {
	s := &Store{log: quiet}
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := s.retry(ctx, "op", txPolicy, retryableTx, func() error {
		calls++
		cancel()
		return pgErr("40001")
	})
	if calls != 1 || err == nil {
		t.Fatalf("calls = %d, err = %v; want 1 call and its error", calls, err)
	}
}

func TestBackoffBounds(t *testing.T) {
	p := retryPolicy{attempts: 100, base: 2 * time.Millisecond, max: 250 * time.Millisecond}
	for attempt := 1; attempt < 100; attempt++ {
		want := min(p.base<<min(attempt-1, 20), p.max)
		for range 20 {
			d := p.backoff(attempt)
			if d < 0 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", attempt, d, want)
			}
		}
	}
}
