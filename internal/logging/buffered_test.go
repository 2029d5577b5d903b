package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBufferedWriterFlushes(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		lines    int
		line     string
		// flush is what makes the lines visible.
		flush func(*BufferedWriter)
	}{
		{"close", time.Hour, 3, "short line\n", func(b *BufferedWriter) { b.Close() }},
		{"explicit flush", time.Hour, 3, "short line\n", func(b *BufferedWriter) { b.Flush() }},
		{"full buffer", time.Hour, 2, strings.Repeat("x", bufferSize) + "\n", func(*BufferedWriter) {}},
		{"interval", time.Millisecond, 1, "ticked\n", func(*BufferedWriter) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			b := NewBufferedWriter(&out, tt.interval)
			defer b.Close()
			want := strings.Repeat(tt.line, tt.lines)
			for range tt.lines {
				if _, err := b.Write([]byte(tt.line)); err != nil {
					t.Fatal(err)
				}
			}
			tt.flush(b)
			// The interval case waits for the ticker; the others are
			// visible (full buffer: all but the last line) at once.
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := out.String()
				if got == want || tt.name == "full buffer" && len(got) >= len(tt.line) && strings.HasPrefix(want, got) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("got %d bytes, want %d", len(got), len(want))
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestBufferedWriterReportsWriteError(t *testing.T) {
	b := NewBufferedWriter(failingWriter{}, time.Hour)
	if _, err := b.Write([]byte("line\n")); err != nil {
		t.Fatalf("buffered write failed early: %v", err)
	}
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the write error", err)
	}
	if err := b.Close(); err == nil {
		t.Fatal("a second Close forgot the error")
	}
}

// flakyWriter fails while down is set.
type flakyWriter struct {
	down bool
	out  strings.Builder
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	if w.down {
		return 0, errors.New("disk full")
	}
	return w.out.Write(p)
}

// A failed write loses what was buffered, not the log: lines written once
// the output recovers come through, and Close still reports the failure.
func TestBufferedWriterRecoversAfterWriteError(t *testing.T) {
	w := &flakyWriter{down: true}
	b := NewBufferedWriter(w, time.Hour)
	b.Write([]byte("lost\n"))
	if err := b.Flush(); err == nil {
		t.Fatal("Flush into a failing writer succeeded")
	}
	w.down = false
	b.Write([]byte("kept\n"))
	if err := b.Flush(); err != nil {
		t.Fatalf("Flush after recovery: %v", err)
	}
	if got := w.out.String(); got != "kept\n" {
		t.Errorf("output %q, want the line written after recovery", got)
	}
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the first write error", err)
	}
}

// Records at the flush level or above reach the output at once; lower ones
// wait for the buffer's flush.
func TestFlushAtLevel(t *testing.T) {
	tests := []struct {
		level   slog.Level
		visible bool
	}{
		{slog.LevelInfo, false},
		{slog.LevelWarn, true},
		{slog.LevelError, true},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var out syncBuffer
			b := NewBufferedWriter(&out, time.Hour)
			defer b.Close()
			log := slog.New(FlushAtLevel(slog.NewJSONHandler(b, nil), b, slog.LevelWarn)).With("k", "v")
			log.Log(context.Background(), tt.level, "event")
			got := out.String()
			if visible := strings.Contains(got, `"msg":"event"`) && strings.Contains(got, `"k":"v"`); visible != tt.visible {
				t.Fatalf("level %s: written at once = %v, want %v (output %q)", tt.level, visible, tt.visible, got)
			}
		})
	}
}
