package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CI reports whether CI=true: then a missing tool fails the run rather than
// skipping, so CI cannot go green by silently testing less.
func CI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// MissingTool skips the test, or fails it under CI=true.
func MissingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=true, so this cannot be skipped: %s", msg)
	}
	t.Skip(msg)
}

// RequireTool returns the path of an executable (see LookTool), or skips
// the test when there is none (fails it under CI=true).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p := LookTool(name)
	if p == "" {
		MissingTool(t, "%s not found on PATH or in the Go bin directory (run scripts/install-test-deps.sh)", name)
	}
	return p
}

// LookTool returns the path of an executable on PATH or in the Go bin
// directory, where scripts/install-test-deps.sh puts Go tools such as crane;
// "" when there is none.
func LookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range GoBinDirs() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// GoBinDirs are the directories `go install` writes to: GOBIN, and bin
// under each GOPATH entry.
func GoBinDirs() []string {
	var dirs []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			continue
		}
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if d == "" {
				continue
			}
			if v == "GOPATH" {
				d = filepath.Join(d, "bin")
			}
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// DockerInfo checks that a Docker engine answers `docker info`.
func DockerInfo(ctx context.Context, docker string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker, "info").CombinedOutput(); err != nil {
		return fmt.Errorf("docker info: %w\n%s", err, Truncate(out, 2048))
	}
	return nil
}

// EnvWithout is the test's environment minus the variables whose names
// start with one of prefixes.
func EnvWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// BuildHello builds a static Linux program, hello, that prints "hello from
// <token>", and returns the directory holding it: an image around it proves,
// when run, that the container runs the very image that was pushed.
func BuildHello(t testing.TB, token string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module hello\n\ngo 1.22\n",
		"main.go": `package main

import "fmt"

var token = "unset"

func main() { fmt.Println("hello from", token) }
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"build", "-trimpath", "-ldflags", "-s -w -X main.token=" + token, "-o", "hello", "."}
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, Truncate(out, 16<<10))
	}
	return dir
}

// Truncate returns at most the first n bytes of b, marked when cut.
func Truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
