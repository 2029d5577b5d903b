package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// holdWriter starts a write whose fn blocks until the returned release is
// called, so that writes started meanwhile queue up and then run in the same
// group as it. The blocking write creates repository name; wait returns its
// error.
func holdWriter(t *testing.T, s *Store, name string, extra func(q *querier) error) (release func(), wait func() error) {
	t.Helper()
	started := make(chan struct{})
	unblock := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(q *querier) error {
			close(started)
			<-unblock
			if err := q.CreateRepository(context.Background(), &meta.Repository{Name: name, CreatedAt: time.Unix(1, 0)}); err != nil {
				return err
			}
			if extra != nil {
				return extra(q)
			}
			return nil
		})
	}()
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(unblock) }) }
	t.Cleanup(release)
	return release, func() error { return <-errc }
}

// waitQueued waits until n writers are queued behind the running group.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for range 10000 {
		s.grp.mu.Lock()
		got := len(s.grp.queue)
		s.grp.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d writers never queued", n)
}

func repoNames(t *testing.T, s *Store) []string {
	t.Helper()
	rs, err := s.ListRepositories(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names
}

func createRepo(ctx context.Context, q meta.Queries, name string) error {
	return q.CreateRepository(ctx, &meta.Repository{Name: name, CreatedAt: time.Unix(1, 0)})
}

// Writers queued behind one group share its COMMIT; a failing fn undoes
// exactly its own work and the others' survive.
func TestGroupFailingMembersRollBackAlone(t *testing.T) {
	s := openTemp(t)
	release, wait := holdWriter(t, s, "held", nil)

	errFail := errors.New("fn failed")
	type outcome struct {
		name string
		err  error
	}
	cases := []struct {
		name    string
		fn      func(ctx context.Context, q meta.Queries) error
		wantErr error
		visible bool
	}{
		{"ok-1", func(ctx context.Context, q meta.Queries) error { return createRepo(ctx, q, "ok-1") }, nil, true},
		{"fails-after-write", func(ctx context.Context, q meta.Queries) error {
			if err := createRepo(ctx, q, "fails-after-write"); err != nil {
				return err
			}
			return errFail
		}, errFail, false},
		{"duplicate", func(ctx context.Context, q meta.Queries) error {
			if err := createRepo(ctx, q, "dup-partial"); err != nil {
				return err
			}
			return createRepo(ctx, q, "held") // created by the held writer in the same group
		}, meta.ErrExists, false},
		{"ok-2", func(ctx context.Context, q meta.Queries) error {
			if err := createRepo(ctx, q, "ok-2"); err != nil {
				return err
			}
			return createRepo(ctx, q, "ok-2b")
		}, nil, true},
		{"fk-violation", func(ctx context.Context, q meta.Queries) error {
			if err := createRepo(ctx, q, "fk-partial"); err != nil {
				return err
			}
			return q.LinkBlob(ctx, "fk-partial", digest.FromString("missing blob"))
		}, meta.ErrNotFound, false},
		{"ok-3", func(ctx context.Context, q meta.Queries) error { return createRepo(ctx, q, "ok-3") }, nil, true},
	}
	results := make(chan outcome, len(cases))
	for i, c := range cases {
		go func() {
			results <- outcome{c.name, s.InTx(context.Background(), func(q meta.Queries) error {
				return c.fn(context.Background(), q)
			})}
		}()
		waitQueued(t, s, i+1) // queue in a known order
	}
	release()
	if err := wait(); err != nil {
		t.Fatalf("held writer: %v", err)
	}
	got := map[string]error{}
	for range cases {
		o := <-results
		got[o.name] = o.err
	}
	for _, c := range cases {
		err := got[c.name]
		if c.wantErr == nil && err != nil {
			t.Errorf("%s: %v, want success", c.name, err)
		}
		if c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
	}
	want := []string{"held", "ok-1", "ok-2", "ok-2b", "ok-3"}
	if names := repoNames(t, s); !slices.Equal(names, want) {
		t.Errorf("repositories %v, want %v", names, want)
	}
}

// A COMMIT that fails reaches every member whose fn succeeded, none of their
// writes is visible, and the writer works again afterwards.
func TestGroupCommitFailureReachesAll(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	// The held writer plants a foreign-key violation that SQLite checks only
	// at COMMIT, so the shared COMMIT fails.
	release, wait := holdWriter(t, s, "held", func(q *querier) error {
		if _, err := q.tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		return q.LinkBlob(ctx, "no-such-repo", digest.FromString("no such blob"))
	})
	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.InTx(ctx, func(q meta.Queries) error { return createRepo(ctx, q, fmt.Sprintf("m%d", i)) })
		}()
	}
	waitQueued(t, s, n)
	release()
	if err := wait(); err == nil {
		t.Error("held writer succeeded, want the COMMIT's failure")
	}
	for range n {
		if err := <-errs; err == nil {
			t.Error("a member succeeded although the group's COMMIT failed")
		}
	}
	if names := repoNames(t, s); len(names) != 0 {
		t.Errorf("repositories %v visible after a failed COMMIT", names)
	}
	if err := s.CreateRepository(ctx, &meta.Repository{Name: "after", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatalf("write after a failed COMMIT: %v", err)
	}
	if names := repoNames(t, s); !slices.Equal(names, []string{"after"}) {
		t.Errorf("repositories %v, want [after]", names)
	}
}

// A writer whose context ends while it is queued returns the context's error
// and its fn never runs; the rest of the group commits.
func TestGroupCancelWhileQueued(t *testing.T) {
	s := openTemp(t)
	release, wait := holdWriter(t, s, "held", nil)

	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{}, 1)
	canceled := make(chan error, 1)
	go func() {
		canceled <- s.InTx(cctx, func(q meta.Queries) error {
			ran <- struct{}{}
			return createRepo(context.Background(), q, "canceled")
		})
	}()
	waitQueued(t, s, 1)
	kept := make(chan error, 1)
	go func() {
		kept <- s.InTx(context.Background(), func(q meta.Queries) error {
			return createRepo(context.Background(), q, "kept")
		})
	}()
	waitQueued(t, s, 2)
	cancel()
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled writer: %v, want context.Canceled", err)
	}
	waitQueued(t, s, 1)
	release()
	if err := wait(); err != nil {
		t.Errorf("held writer: %v", err)
	}
	if err := <-kept; err != nil {
		t.Errorf("kept writer: %v", err)
	}
	select {
	case <-ran:
		t.Error("the canceled writer's fn ran")
	default:
	}
	if names := repoNames(t, s); !slices.Equal(names, []string{"held", "kept"}) {
		t.Errorf("repositories %v, want [held kept]", names)
	}
}

// A panic in one member's fn goes on in its caller's goroutine, undoes only
// its work, and leaves the group and the writer usable.
func TestGroupPanicInMember(t *testing.T) {
	s := openTemp(t)
	release, wait := holdWriter(t, s, "held", nil)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = s.InTx(context.Background(), func(q meta.Queries) error {
			if err := createRepo(context.Background(), q, "partial"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	waitQueued(t, s, 1)
	ok := make(chan error, 1)
	go func() {
		ok <- s.InTx(context.Background(), func(q meta.Queries) error { return createRepo(context.Background(), q, "ok") })
	}()
	waitQueued(t, s, 2)
	release()
	if err := wait(); err != nil {
		t.Errorf("held writer: %v", err)
	}
	if v := <-panicked; v != "boom" {
		t.Errorf("recovered %v, want boom", v)
	}
	if err := <-ok; err != nil {
		t.Errorf("ok writer: %v", err)
	}
	if names := repoNames(t, s); !slices.Equal(names, []string{"held", "ok"}) {
		t.Errorf("repositories %v, want [held ok]", names)
	}
}

// Many concurrent writers, some failing: exactly the successful ones are
// visible, whatever the grouping turned out to be.
func TestGroupConcurrentWriters(t *testing.T) {
	s := openTemp(t)
	const workers, each = 8, 25
	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	errFail := errors.New("fail")
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				fail := (w+i)%3 == 0
				err := s.InTx(context.Background(), func(q meta.Queries) error {
					if err := createRepo(context.Background(), q, name); err != nil {
						return err
					}
					if fail {
						return errFail
					}
					return nil
				})
				switch {
				case fail && !errors.Is(err, errFail):
					t.Errorf("%s: %v, want %v", name, err, errFail)
				case !fail && err != nil:
					t.Errorf("%s: %v", name, err)
				case !fail:
					mu.Lock()
					want = append(want, name)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(want)
	if names := repoNames(t, s); !slices.Equal(names, want) {
		t.Errorf("%d repositories visible, want %d: %v", len(names), len(want), names)
	}
}

// Writers arriving after Close fail instead of hanging.
func TestWriteAfterClose(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir()+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRepository(context.Background(), &meta.Repository{Name: "r"}); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want %v", err, errClosed)
	}
}

// TestGroupFailureWaitsForCommit checks that a member whose failure rests on
// an earlier member's write (the row already exists) returns only once that
// write is committed, so what it reports can be read back at once.
func TestGroupFailureWaitsForCommit(t *testing.T) {
	s := openTemp(t)
	release, wait := holdWriter(t, s, "held", nil)
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(q *querier) error {
			return createRepo(context.Background(), q, "held")
		})
	}()
	waitQueued(t, s, 1)
	release()
	if err := <-errc; !errors.Is(err, meta.ErrExists) {
		t.Fatalf("duplicate create: %v, want ErrExists", err)
	}
	if _, err := s.GetRepository(context.Background(), "held"); err != nil {
		t.Fatalf("ErrExists reported before the existing row was committed: %v", err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// synchronousIn reads the writer connection's synchronous setting from
// inside a write (1 NORMAL, 2 FULL).
func synchronousIn(q *querier, got *int) error {
	return q.tx.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(got)
}

// Lazy writes commit without an fsync of their own; every other write, and
// any group that holds one, still commits with synchronous=FULL.
func TestLazyWritesSkipOnlyTheirOwnFsync(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	steps := []struct {
		lazy bool
		want int
	}{
		{true, 1}, {true, 1}, {false, 2}, {true, 1}, {false, 2}, {false, 2},
	}
	for i, st := range steps {
		var got int
		fn := func(q *querier) error { return synchronousIn(q, &got) }
		var err error
		if st.lazy {
			err = s.writeLazy(ctx, fn)
		} else {
			err = s.write(ctx, fn)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Fatalf("step %d (lazy %v): synchronous %d, want %d", i, st.lazy, got, st.want)
		}
	}

	// A durable write queued behind lazy ones shares their group only if
	// the group is durable: here the held write is durable, so all of them
	// commit FULL together.
	var lazyGot, durableGot int
	release, wait := holdWriter(t, s, "held", nil)
	errs := make(chan error, 2)
	go func() { errs <- s.writeLazy(ctx, func(q *querier) error { return synchronousIn(q, &lazyGot) }) }()
	go func() { errs <- s.write(ctx, func(q *querier) error { return synchronousIn(q, &durableGot) }) }()
	waitQueued(t, s, 2)
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if lazyGot != 2 || durableGot != 2 {
		t.Fatalf("in a durable group: lazy member saw synchronous %d, durable %d; want 2, 2", lazyGot, durableGot)
	}

	// A lazy group takes the lazy writers queued behind it, but stops at the
	// first durable one, which then commits FULL in a group of its own.
	started, unblock := make(chan struct{}), make(chan struct{})
	var heldGot, lazy2Got, durable2Got int
	errs = make(chan error, 3)
	go func() {
		errs <- s.writeLazy(ctx, func(q *querier) error {
			close(started)
			<-unblock
			return synchronousIn(q, &heldGot)
		})
	}()
	<-started
	go func() { errs <- s.writeLazy(ctx, func(q *querier) error { return synchronousIn(q, &lazy2Got) }) }()
	waitQueued(t, s, 1)
	go func() { errs <- s.write(ctx, func(q *querier) error { return synchronousIn(q, &durable2Got) }) }()
	waitQueued(t, s, 2)
	close(unblock)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if heldGot != 1 || lazy2Got != 1 || durable2Got != 2 {
		t.Fatalf("lazy group then durable: synchronous %d, %d, %d; want 1, 1, 2", heldGot, lazy2Got, durable2Got)
	}

	// Lazy upload bookkeeping is committed and readable at once.
	if err := s.CreateRepository(ctx, &meta.Repository{Name: "r", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	u := &meta.Upload{ID: "u1", Repository: "r", Algorithm: digest.SHA256, StartedAt: time.Unix(2, 0), UpdatedAt: time.Unix(2, 0)}
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUpload(ctx, "u1"); err != nil {
		t.Fatalf("lazy upload not readable: %v", err)
	}
}
