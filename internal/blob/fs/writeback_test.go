package fs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// writeback must pass every byte through unchanged whatever the write
// sizes, starting at the upload's offset.
func TestWritebackWritesEverything(t *testing.T) {
	tests := []struct {
		name   string
		offset int64
		writes []int
	}{
		{"small writes", 0, []int{1, 2, 3}},
		{"one chunk exactly", 0, []int{writebackChunk}},
		{"across chunks", 0, []int{writebackChunk - 1, 2, writebackChunk + 5}},
		{"resumed at an offset", 100, []int{writebackChunk, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "upload"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			prefix := bytes.Repeat([]byte{'p'}, int(tt.offset))
			if _, err := f.Write(prefix); err != nil {
				t.Fatal(err)
			}
			w := &writeback{f: f, off: tt.offset, synced: tt.offset}
			want := append([]byte(nil), prefix...)
			for i, n := range tt.writes {
				p := bytes.Repeat([]byte{byte('a' + i)}, n)
				if got, err := w.Write(p); err != nil || got != n {
					t.Fatalf("Write(%d) = %d, %v", n, got, err)
				}
				want = append(want, p...)
			}
			if w.off != int64(len(want)) {
				t.Fatalf("offset %d, want %d", w.off, len(want))
			}
			if w.synced > w.off {
				t.Fatalf("writeback started past the data: %d > %d", w.synced, w.off)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("file holds %d bytes, want %d (or content differs)", len(got), len(want))
			}
		})
	}
}
