package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/sqlite"
)

func TestUsageCommand(t *testing.T) {
	dir := t.TempDir()
	m, err := sqlite.Open(context.Background(), filepath.Join(dir, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CreateRepository(context.Background(), &meta.Repository{Name: "team/app", CreatedAt: time.Now(), Settings: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{"help", []string{"usage", "--help"}, 0, []string{"Usage: berth usage"}, ""},
		{"bad flag", []string{"usage", "--gc-interval", "often"}, 2, nil, `invalid duration "often"`},
		{"table", []string{"usage", "--data-dir", dir, "--log-level", "error"}, 0, []string{"REPOSITORY", "team/app", "TOTAL (1)"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout %q lacks %q", stdout.String(), w)
				}
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
