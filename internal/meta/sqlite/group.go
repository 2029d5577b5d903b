package sqlite

// Group commit. Every write transaction needs an fsync of the WAL at COMMIT
// (synchronous=FULL), and on the single writer connection those fsyncs are
// strictly serial, so under concurrent pushes the disk's sync latency caps
// write throughput. Instead, one goroutine (the committer) runs the write
// transactions waiting at the same moment inside one BEGIN IMMEDIATE ...
// COMMIT: one fsync for the group.
//
// Each member still runs its own fn in its own goroutine (the committer
// hands it the transaction and waits), so panics and runtime.Goexit stay in
// the caller's goroutine. Each fn runs inside a SAVEPOINT: a failing fn is
// rolled back to it and only its caller sees the error. Every member returns
// only after the shared COMMIT: one whose fn succeeded so that durability is
// what it was with one transaction per call, one whose fn failed because its
// failure may rest on earlier members' writes (a row that already exists).
// If the COMMIT fails, every member gets that error. fn is never re-run.
//
// Writes whose loss in a power failure costs nothing but a client retry
// (upload-session bookkeeping: writeLazy) need no fsync of their own: a
// group made only of them commits with synchronous=NORMAL, which in WAL mode
// keeps the database consistent and leaves the WAL frames to be made durable
// by the next FULL commit or checkpoint. A group that holds any other write
// commits with synchronous=FULL, as always. So a pushed blob costs one WAL
// fsync (its commit), not one per session step.
//
// A caller whose context ends while it is still queued leaves without
// running fn. Once its turn has come, the caller waits for the group's
// outcome (bounded by the other members' work and one COMMIT).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// maxGroup bounds how many members share one COMMIT, so that a steady stream
// of writers cannot postpone the first member's durability indefinitely.
const maxGroup = 64

// errClosed is returned to writers that arrive after Close.
var errClosed = errors.New("sqlite: store is closed")

// errAborted is what the committer records for a member whose fn panicked or
// called runtime.Goexit; its caller never sees it.
var errAborted = errors.New("sqlite: write aborted")

// member is one write waiting for or taking part in a group.
type member struct {
	ctx context.Context
	fn  func(q *querier) error
	// lazy: the write may be lost in a power failure (see writeLazy).
	lazy bool

	// taken is set (under group.mu) once the committer has dequeued the
	// member; from then on the member must answer its turn.
	taken bool

	turn chan *sql.Tx    // the committer hands over the open transaction
	ran  chan stepResult // the member reports how its fn went
	done chan error      // the committer reports the group's outcome
}

// stepResult is a member's report after its turn.
type stepResult struct {
	skipped bool  // the member's context had ended: fn did not run
	fnErr   error // fn failed; its savepoint was rolled back
	broken  error // the transaction itself failed: the group cannot commit
}

// group is the queue in front of the single writer connection.
type group struct {
	mu     sync.Mutex
	queue  []*member
	closed bool
	kick   chan struct{} // buffered(1): wakes the committer
	stop   chan struct{} // closed by Close
	exited chan struct{} // closed when the committer returns
}

func newGroup() *group {
	return &group{
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// write runs fn inside a write transaction shared with the other writers
// waiting at the same time, durable when write returns. fn must use only q:
// calling a Store method from inside fn would queue behind the group that
// is waiting for fn (deadlock).
func (s *Store) write(ctx context.Context, fn func(q *querier) error) error {
	return s.enqueue(ctx, fn, false)
}

// writeLazy is write for bookkeeping that a power failure may undo without
// harm: the write is committed (visible, consistent, durable across a
// process crash) but may await a later commit's fsync to survive a power
// failure. Upload sessions are such: a session that loses its last steps
// makes the client resume from an earlier offset or start again.
func (s *Store) writeLazy(ctx context.Context, fn func(q *querier) error) error {
	return s.enqueue(ctx, fn, true)
}

func (s *Store) enqueue(ctx context.Context, fn func(q *querier) error, lazy bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	g := s.grp
	m := &member{
		ctx:  ctx,
		fn:   fn,
		lazy: lazy,
		turn: make(chan *sql.Tx, 1),
		ran:  make(chan stepResult, 1),
		done: make(chan error, 1),
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, m)
	g.mu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}

	var tx *sql.Tx
	select {
	case tx = <-m.turn:
	case <-ctx.Done():
		g.mu.Lock()
		if !m.taken {
			g.remove(m)
			g.mu.Unlock()
			return fmt.Errorf("sqlite: begin: %w", ctx.Err())
		}
		g.mu.Unlock()
		// The committer already counts on this member: answer the turn.
		tx = <-m.turn
	}
	if tx == nil { // the group could not begin; done holds the reason
		return <-m.done
	}
	if err := ctx.Err(); err != nil {
		m.ran <- stepResult{skipped: true}
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	res := s.step(tx, m)
	groupErr := <-m.done
	if res.fnErr != nil && res.broken == nil {
		// fn's own work is undone, but its failure may rest on what earlier
		// members of the group wrote (a row that "already exists"): it holds
		// only once that is committed.
		if groupErr != nil {
			return groupErr
		}
		return res.fnErr
	}
	return groupErr
}

// step runs m.fn inside its savepoint and reports to the committer. The
// report is sent from a deferred call so that a panic or runtime.Goexit in
// fn still releases the committer (and the panic goes on in this goroutine).
func (s *Store) step(tx *sql.Tx, m *member) (res stepResult) {
	ctx := context.Background() // savepoint statements must not be interrupted
	finished := false
	defer func() {
		if !finished {
			res = stepResult{fnErr: errAborted}
			if err := undo(ctx, tx); err != nil {
				res.broken = err
			}
		}
		m.ran <- res
	}()
	if _, err := tx.ExecContext(ctx, "SAVEPOINT member"); err != nil {
		finished = true
		return stepResult{broken: fmt.Errorf("sqlite: savepoint: %w", err)}
	}
	fnErr := m.fn(&querier{st: &s.wst, tx: tx, db: tx})
	finished = true
	if fnErr != nil {
		res.fnErr = fnErr
		if err := undo(ctx, tx); err != nil {
			// SQLite may have rolled back the whole transaction (an
			// interrupt, I/O error or full disk): nothing of the group is
			// left to commit.
			res.broken = err
		}
		return res
	}
	if _, err := tx.ExecContext(ctx, "RELEASE member"); err != nil {
		res.broken = fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return res
}

// undo rolls a member's work back to its savepoint and drops the savepoint.
func undo(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO member"); err != nil {
		return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "RELEASE member"); err != nil {
		return fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return nil
}

// remove drops m from the queue; g.mu must be held.
func (g *group) remove(m *member) {
	for i, x := range g.queue {
		if x == m {
			copy(g.queue[i:], g.queue[i+1:])
			g.queue[len(g.queue)-1] = nil // let m be collected
			g.queue = g.queue[:len(g.queue)-1]
			return
		}
	}
}

// take dequeues up to n members and marks them taken.
func (g *group) take(n int) []*member {
	return g.takeWhile(n, func(*member) bool { return true })
}

// takeWhile dequeues up to n members from the front of the queue, stopping
// at the first one ok refuses: queue order is kept.
func (g *group) takeWhile(n int, ok func(*member) bool) []*member {
	g.mu.Lock()
	defer g.mu.Unlock()
	n = min(n, len(g.queue))
	for i := range n {
		if !ok(g.queue[i]) {
			n = i
			break
		}
	}
	ms := make([]*member, n)
	copy(ms, g.queue[:n])
	for _, m := range ms {
		m.taken = true
	}
	rest := copy(g.queue, g.queue[n:])
	clear(g.queue[rest:])
	g.queue = g.queue[:rest]
	return ms
}

// run is the committer loop; it returns after Close.
func (s *Store) run() {
	g := s.grp
	defer close(g.exited)
	for {
		select {
		case <-g.stop:
			return
		case <-g.kick:
		}
		for s.commitGroup() {
		}
	}
}

// commitGroup runs one group and reports whether it found any member.
func (s *Store) commitGroup() bool {
	g := s.grp
	ms := g.take(maxGroup)
	if len(ms) == 0 {
		return false
	}
	lazy := true
	for _, m := range ms {
		lazy = lazy && m.lazy
	}
	// The transaction outlives every member's context: one caller giving up
	// must not roll back the others' work.
	err := s.setSynchronous(lazy)
	var tx *sql.Tx
	if err == nil {
		tx, err = s.w.BeginTx(context.Background(), nil)
	}
	if err != nil {
		err = fmt.Errorf("sqlite: begin: %w", err)
		for _, m := range ms {
			m.done <- err
			m.turn <- nil
		}
		return true
	}
	var waiting []*member // members whose fn ran: they wait for COMMIT
	var broken error
	ran := 0
	for len(ms) > 0 && broken == nil {
		for i, m := range ms {
			ran++
			m.turn <- tx
			res := <-m.ran
			switch {
			case res.broken != nil:
				broken = res.broken
				waiting = append(waiting, m)
			case res.skipped:
			default:
				// Failed members wait too: their failure may depend on
				// what earlier members wrote, which counts only once committed.
				waiting = append(waiting, m)
			}
			if broken != nil {
				// Members not yet run go back to the front of the queue, to
				// the next group: their fn has not run, so nothing is re-run.
				s.requeue(ms[i+1:])
				break
			}
		}
		if broken != nil || ran >= maxGroup {
			break
		}
		// Writers that arrived meanwhile share this COMMIT too; a lazy group
		// takes only lazy ones, since its COMMIT will not fsync.
		if lazy {
			ms = g.takeWhile(maxGroup-ran, func(m *member) bool { return m.lazy })
		} else {
			ms = g.take(maxGroup - ran)
		}
	}
	if broken != nil {
		_ = rollback(tx)
		s.resetWriter()
		for _, m := range waiting {
			m.done <- broken
		}
		return true
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
		s.resetWriter()
	}
	for _, m := range waiting {
		m.done <- err
	}
	return true
}

// requeue puts members that have not run back at the front of the queue.
func (s *Store) requeue(ms []*member) {
	if len(ms) == 0 {
		return
	}
	g := s.grp
	g.mu.Lock()
	for _, m := range ms {
		m.taken = false
	}
	g.queue = append(append([]*member(nil), ms...), g.queue...)
	g.mu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// setSynchronous puts the writer connection in synchronous=NORMAL for a
// lazy group, FULL otherwise. Only the committer calls it. syncNormal may
// say NORMAL while a replaced connection is back at the DSN's FULL: that
// errs on the durable side, and the next durable group sets FULL anyway.
func (s *Store) setSynchronous(lazy bool) error {
	if lazy == s.syncNormal {
		return nil
	}
	mode := "FULL"
	if lazy {
		mode = "NORMAL"
	}
	if _, err := s.w.ExecContext(context.Background(), "PRAGMA synchronous = "+mode); err != nil {
		return fmt.Errorf("sqlite: set synchronous %s: %w", mode, err)
	}
	s.syncNormal = lazy
	return nil
}

// resetWriter ends a transaction that SQLite kept open after a failed COMMIT
// (a deferred constraint, or SQLITE_BUSY), so the next group can begin.
// database/sql considers the Tx done either way; with no transaction open,
// the ROLLBACK fails harmlessly.
func (s *Store) resetWriter() {
	_, _ = s.w.ExecContext(context.Background(), "ROLLBACK")
}

// close stops the committer after the groups in flight. Writers still queued
// get errClosed.
func (g *group) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	<-g.exited
	g.mu.Lock()
	q := g.queue
	g.queue = nil
	for _, m := range q {
		m.taken = true
	}
	g.mu.Unlock()
	for _, m := range q {
		m.done <- errClosed
		m.turn <- nil
	}
}
