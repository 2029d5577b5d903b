package main

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// unreachablePG is a PostgreSQL URL nothing listens at.
const unreachablePG = "postgres://berth@127.0.0.1:1/berth?sslmode=disable&connect_timeout=2"

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, 2, "", "Commands:"},
		{"help", []string{"help"}, 0, "serve", ""},
		{"unknown command", []string{"push"}, 2, "", `unknown command "push"`},
		{"version", []string{"version"}, 0, runtime.Version(), ""},
		{"version with arguments", []string{"version", "x"}, 2, "", "takes no arguments"},
		{"serve help", []string{"serve", "--help"}, 0, "BERTH_UPLOAD_TTL", ""},
		{"serve bad flag", []string{"serve", "--upload-ttl", "soon"}, 2, "", `invalid duration "soon"`},
		{"serve bad data dir", []string{"serve", "--data-dir", "/dev/null/x", "--log-level", "error"}, 1, "", "create data dir"},
		{"serve on postgres without a master key", []string{"serve", "--metadata", unreachablePG}, 2, "", "master-key-file: required"},
		// The metadata tools need no master key: they get as far as the database.
		{"vulndb on postgres", []string{"vulndb", "import", "--metadata", unreachablePG, "x.zip"}, 1, "", "127.0.0.1:1"},
		{"usage on postgres", []string{"usage", "--metadata", unreachablePG, "--log-level", "error"}, 1, "", "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// syncBuilder is a strings.Builder safe for one writer and one reader.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStopsOnSignal runs the real serve command and sends the process
// SIGINT once it serves: it must shut down gracefully and exit 0.
func TestServeStopsOnSignal(t *testing.T) {
	var stdout strings.Builder
	stderr := &syncBuilder{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, &stdout, stderr)
	}()
	for !strings.Contains(stderr.String(), `"msg":"serving"`) {
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d:\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond): // poll for startup
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, stderr.String())
		}
	}
}

func TestVersionInfoLdflags(t *testing.T) {
	version, commit = "v1.2.3", "abc123"
	defer func() { version, commit = "", "" }()
	v, c, g := versionInfo()
	if v != "v1.2.3" || c != "abc123" || g != runtime.Version() {
		t.Errorf("versionInfo() = %q, %q, %q", v, c, g)
	}
}
