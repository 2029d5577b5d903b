package fs

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A caller that arrives while a sync is running must not be satisfied by
// that sync (it may have started before the caller's rename): it gets a sync
// that starts after it arrived, shared with the others that arrived with it.
func TestDirSyncerWaitsForALaterSync(t *testing.T) {
	entered := make(chan int, 8)
	release := make(chan error)
	var calls atomic.Int64
	d := newDirSyncer(func(dir string) error {
		n := int(calls.Add(1))
		entered <- n
		return <-release
	})

	first := make(chan error, 1)
	go func() { first <- d.Sync("a") }()
	if n := <-entered; n != 1 {
		t.Fatalf("sync %d, want 1", n)
	}

	// These arrive while sync 1 runs.
	const late = 5
	var wg sync.WaitGroup
	errs := make(chan error, late)
	for range late {
		wg.Go(func() { errs <- d.Sync("a") })
	}
	waitWaiting(t, d, "a", late)

	errFirst := errors.New("first sync failed")
	release <- errFirst
	if err := <-first; !errors.Is(err, errFirst) {
		t.Errorf("first caller: %v, want %v", err, errFirst)
	}
	// One of the late callers starts sync 2; all of them share it.
	if n := <-entered; n != 2 {
		t.Fatalf("sync %d, want 2", n)
	}
	release <- nil
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("late caller got %v, want the result of the later sync (nil)", err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d syncs for %d callers, want 2", got, late+1)
	}

	// Another directory is independent.
	go func() { release <- nil }()
	if err := d.Sync("b"); err != nil {
		t.Errorf("sync b: %v", err)
	}
	if n := <-entered; n != 3 {
		t.Errorf("sync %d, want 3", n)
	}
}

// waitWaiting waits until n callers are blocked behind the running sync of
// dir.
func waitWaiting(t *testing.T, d *dirSyncer, dir string, n int) {
	t.Helper()
	for range 10000 {
		d.mu.Lock()
		got := d.dirs[dir].waiting
		d.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d callers never waited", n)
}
