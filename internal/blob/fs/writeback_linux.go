package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackChunk is how much written data may sit dirty in the page cache
// before writeback of it starts.
const writebackChunk = 8 << 20

// writeback writes to an upload file and asks the kernel to start writing
// each finished chunk to disk at once (sync_file_range, no wait), so the
// fsync at commit waits only for the tail instead of the whole blob, and
// disk writes overlap the upload instead of following it. Durability still
// rests on that fsync: this only schedules the work earlier.
type writeback struct {
	f      *os.File
	off    int64 // file offset of the next write
	synced int64 // writeback was started for [.., synced)
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.synced >= writebackChunk {
		// Best effort: an error here (e.g. a file system without the call)
		// changes nothing that the commit's fsync does not check.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.synced, w.off-w.synced, unix.SYNC_FILE_RANGE_WRITE)
		w.synced = w.off
	}
	return n, err
}
