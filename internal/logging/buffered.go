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
	buf  *bufio.Writer
	err  error // the first write error, kept to report on Close
	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter returns a writer over w flushed every interval
// (DefaultFlushInterval when interval <= 0). Close it to flush and stop.
func NewBufferedWriter(w io.Writer, interval time.Duration) *BufferedWriter {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	b := &BufferedWriter{
		buf:  bufio.NewWriterSize(w, bufferSize),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.flushEvery(interval)
	return b
}

// Write buffers p. slog handlers write one whole line per call, so lines
// are never interleaved.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// Flush writes out what is buffered.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.buf.Flush()
	if err != nil && b.err == nil {
		b.err = err
	}
	return err
}

// Close stops the flusher and flushes. It returns the first write error
// seen, if any. Writes after Close are still buffered and reach w only
// with a later Flush.
func (b *BufferedWriter) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	b.Flush()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *BufferedWriter) flushEvery(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.mu.Lock()
			if b.buf.Buffered() > 0 {
				if err := b.buf.Flush(); err != nil && b.err == nil {
					b.err = err
				}
			}
			b.mu.Unlock()
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
