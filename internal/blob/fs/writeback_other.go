//go:build !linux

package fs

import "os"

// writeback writes to an upload file. Only Linux starts writeback early
// (writeback_linux.go); elsewhere the commit's fsync does all the work.
type writeback struct {
	f      *os.File
	off    int64
	synced int64
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	return n, err
}
