package fs

import "sync"

// dirSyncer coalesces fsyncs of one directory. A commit needs a directory
// sync that starts after its rename; when several commits rename into the
// same directory at once, one sync started after all of their renames makes
// all of them durable, so each caller either starts a sync or waits for the
// next one to start and finish, instead of queueing one sync per rename.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState // one per directory ever synced: a few hundred at most
	sync func(dir string) error
}

type dirState struct {
	running  bool
	started  uint64        // syncs started so far
	finished uint64        // number of the last sync that finished
	err      error         // its result
	waiting  int           // callers blocked on done (read by tests)
	done     chan struct{} // closed when the running sync finishes
}

func newDirSyncer(sync func(dir string) error) *dirSyncer {
	return &dirSyncer{dirs: make(map[string]*dirState), sync: sync}
}

// Sync returns once a sync of dir that started after the call has finished,
// with that sync's result.
func (d *dirSyncer) Sync(dir string) error {
	d.mu.Lock()
	st := d.dirs[dir]
	if st == nil {
		st = &dirState{}
		d.dirs[dir] = st
	}
	// Any sync numbered above started begins after this point.
	target := st.started + 1
	for {
		if st.finished >= target {
			err := st.err
			d.mu.Unlock()
			return err
		}
		if !st.running {
			st.running = true
			st.started++
			n := st.started
			done := make(chan struct{})
			st.done = done
			d.mu.Unlock()

			err := d.sync(dir)

			d.mu.Lock()
			st.running = false
			st.finished = n
			st.err = err
			close(done)
			d.mu.Unlock()
			return err
		}
		// A sync that started before this call is running: it may have
		// missed our rename, so wait for it and then start or join the next.
		done := st.done
		st.waiting++
		d.mu.Unlock()
		<-done
		d.mu.Lock()
		st.waiting--
	}
}
