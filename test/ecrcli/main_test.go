package ecrcli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// berthBin is the berth binary the test starts; TestMain builds it once.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("BERTH_E2E_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ecrcli: BERTH_E2E_BIN: %v\n", err)
			return 1
		}
		berthBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "berth-ecrcli-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ecrcli: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	berthBin = filepath.Join(dir, "berth")
	if err := buildBerth(berthBin); err != nil {
		fmt.Fprintf(os.Stderr, "ecrcli: building berth: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildBerth compiles ./cmd/berth as a static binary.
func buildBerth(out string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return errors.New("not inside the berth module")
	}
	cmd := exec.Command("go", "build", "-o", out, "./cmd/berth")
	cmd.Dir = filepath.Dir(mod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/berth: %w\n%s", err, b)
	}
	return nil
}

// ciMode reports whether missing tools must fail the run rather than skip.
func ciMode() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// lookTool finds an executable on PATH or in the Go bin directory, where
// scripts/install-test-deps.sh puts Go tools such as crane.
func lookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
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
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// dockerWorks reports whether a Docker engine answers `docker info`.
func dockerWorks(ctx context.Context, docker string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, docker, "info").CombinedOutput()
	if err != nil {
		return false, fmt.Sprintf("docker info: %v\n%s", err, truncate(out, 2048))
	}
	return true, ""
}

// server is a berth process under test.
type server struct {
	t         testing.TB
	Addr      string // 127.0.0.1:port
	DataDir   string
	AccessKey string
	SecretKey string
	logPath   string
	extraArgs []string // appended to berth serve

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// startServer starts berth with fresh root access keys on a free loopback
// port and a fresh data directory, waits until /healthz answers, and stops it
// with SIGTERM when the test ends. A failed test gets berth's log.
func startServer(t testing.TB, extraArgs ...string) *server {
	t.Helper()
	s := &server{
		t:         t,
		DataDir:   t.TempDir(),
		AccessKey: "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		SecretKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		extraArgs: extraArgs,
	}
	s.logPath = filepath.Join(t.TempDir(), "berth.log")
	t.Cleanup(s.cleanup)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var addr string
		if addr, err = freeAddr(); err != nil {
			break
		}
		if err = s.launch(addr); err == nil {
			return s
		}
		// Another process may have taken the port between our probe and
		// berth's listen; only that case is worth another try.
		if !strings.Contains(s.logTail(4096), "address already in use") {
			break
		}
	}
	t.Fatalf("starting berth: %v", err)
	return nil
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *server) launch(addr string) error {
	args := append([]string{"serve", "--listen", addr, "--data-dir", s.DataDir}, s.extraArgs...)
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- ecrcli: %s %s\n", berthBin, strings.Join(args, " "))
	cmd := exec.Command(berthBin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// The developer's BERTH_* settings must not change what is tested.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"BERTH_ROOT_ACCESS_KEY_ID="+s.AccessKey,
		"BERTH_ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("exec %s: %w", berthBin, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.Addr, s.cmd, s.exited, s.exitErr = addr, cmd, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	if err := s.waitHealthy(exited); err != nil {
		s.signalAndWait(syscall.SIGKILL, 10*time.Second)
		return fmt.Errorf("%w\nberth log:\n%s", err, s.logTail(16<<10))
	}
	return nil
}

func (s *server) waitHealthy(exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + s.Addr + "/healthz"
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("berth exited during startup: %v", s.exitError())
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("GET %s did not answer 200 within 60s", url)
}

func (s *server) exitError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitErr
}

func (s *server) running() bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// signalAndWait signals berth and waits for it to exit, killing it after timeout.
func (s *server) signalAndWait(sig syscall.Signal, timeout time.Duration) (exitErr error, timedOut bool) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil, false
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return s.exitError(), false
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return s.exitError(), true
	}
}

func (s *server) cleanup() {
	t := s.t
	if s.running() {
		err, timedOut := s.signalAndWait(syscall.SIGTERM, 60*time.Second)
		if timedOut {
			t.Errorf("berth did not exit within 60s of SIGTERM; killed it")
		} else if err != nil {
			t.Errorf("berth exited uncleanly after SIGTERM: %v", err)
		}
	}
	if t.Failed() {
		t.Logf("berth log (%s, last 256 KiB):\n%s", s.logPath, s.logTail(256<<10))
	}
}

// logTail returns at most the last n bytes of berth's log.
func (s *server) logTail(n int64) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	off := max(fi.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return fmt.Sprintf("(log: %v)", err)
	}
	return string(b)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// URL is the server's base URL, as --endpoint-url spells it.
func (s *server) URL() string { return "http://" + s.Addr }

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
