// Package logging holds the server's log output plumbing.
package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultFlushInterval bounds how long a log line waits in the buffer.
const DefaultFlushInterval = 100 * time.Millisecond

// bufferSize is large enough for a burst of access-log lines between
// flushes; a line that does not fit is written through at once.
const bufferSize = 64 << 10

// BufferedWriter batches log lines so that a busy server does not pay a
// write system call per request line. Lines reach the underlying writer
// when the buffer fills, every flush interval, and on Close. A crash loses
// at most one interval of lines.
type BufferedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  *bufio.Writer
	err  error  // the first write error, reported by Close
	stop func() // stops the flusher, once
	done chan struct{}
}

// NewBufferedWriter returns a writer over w flushed every interval
// (DefaultFlushInterval when interval <= 0). Close it to flush and stop.
func NewBufferedWriter(w io.Writer, interval time.Duration) *BufferedWriter {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	stop := make(chan struct{})
	b := &BufferedWriter{
		w:    w,
		buf:  bufio.NewWriterSize(w, bufferSize),
		stop: sync.OnceFunc(func() { close(stop) }),
		done: make(chan struct{}),
	}
	go b.flushEvery(interval, stop)
	return b
}

// Write buffers p. slog handlers write one whole line per call, so lines
// are never interleaved.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	b.failed(err)
	return n, err
}

// Flush writes out what is buffered.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *BufferedWriter) flushLocked() error {
	if b.buf.Buffered() == 0 {
		return nil
	}
	err := b.buf.Flush()
	b.failed(err)
	return err
}

// failed records the first write error and drops what the buffer holds:
// bufio keeps an error for good, and logging must resume once the output
// takes writes again (a full disk freed, say). b.mu must be held.
func (b *BufferedWriter) failed(err error) {
	if err == nil {
		return
	}
	if b.err == nil {
		b.err = err
	}
	b.buf.Reset(b.w)
}

// Close stops the flusher and flushes. It returns the first write error
// seen, if any. Writes after Close are still buffered and reach w only
// with a later Flush.
func (b *BufferedWriter) Close() error {
	b.stop()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

func (b *BufferedWriter) flushEvery(interval time.Duration, stop <-chan struct{}) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.Flush()
		}
	}
}

// Flusher is what FlushAtLevel needs of the writer behind a handler.
type Flusher interface {
	Flush() error
}

// FlushAtLevel wraps h so that every record at level or above is flushed
// to the output at once: warnings and errors never wait in the buffer, and
// a crash right after one cannot lose it.
func FlushAtLevel(h slog.Handler, f Flusher, level slog.Level) slog.Handler {
	return flushingHandler{Handler: h, f: f, level: level}
}

type flushingHandler struct {
	slog.Handler
	f     Flusher
	level slog.Level
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level {
		if ferr := h.f.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(as), f: h.f, level: h.level}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), f: h.f, level: h.level}
}
