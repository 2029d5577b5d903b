package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

// berthBin is the berth binary every test starts; TestMain builds it once.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("BERTH_E2E_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: BERTH_E2E_BIN: %v\n", err)
			return 1
		}
		berthBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	berthBin = filepath.Join(dir, "berth")
	if err := buildBerth(berthBin); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building berth: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildBerth compiles ./cmd/berth. It is built with -race when the test binary
// is (or BERTH_E2E_RACE says so), so that races in the server under real
// client traffic fail the suite: the race runtime makes berth exit non-zero.
func buildBerth(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	race := raceEnabled
	if v := os.Getenv("BERTH_E2E_RACE"); v != "" {
		if race, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("BERTH_E2E_RACE=%q: %w", v, err)
		}
	}
	args := []string{"build", "-o", out}
	env := os.Environ()
	if race {
		args = append(args, "-race")
		env = append(env, "CGO_ENABLED=1")
	} else {
		env = append(env, "CGO_ENABLED=0")
	}
	args = append(args, "./cmd/berth")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the berth module")
	}
	return filepath.Dir(gomod), nil
}

// ciMode reports whether missing tools must fail the run rather than skip.
func ciMode() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// missingTool skips the test, or fails it under CI.
func missingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ciMode() {
		t.Fatalf("CI=true, so this cannot be skipped: %s", msg)
	}
	t.Skip(msg)
}

// requireTool returns the path of an executable, looking on PATH and then in
// the Go bin directory where scripts/install-test-deps.sh puts Go tools.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	missingTool(t, "%s not found on PATH or in the Go bin directory (run scripts/install-test-deps.sh)", name)
	return ""
}

func goBinDirs() []string {
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

// server is a berth process under test.
type server struct {
	t            testing.TB
	Addr         string // 127.0.0.1:port
	DataDir      string
	AccessKey    string // root access key id
	SecretKey    string
	createOnPush bool
	extraArgs    []string
	logPath      string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	token   string // ECR login token, refreshed on every start
}

type serverOption func(*server)

// withoutCreateOnPush starts berth without --create-on-push.
func withoutCreateOnPush() serverOption { return func(s *server) { s.createOnPush = false } }

// withArgs appends flags to `berth serve`.
func withArgs(args ...string) serverOption {
	return func(s *server) { s.extraArgs = append(s.extraArgs, args...) }
}

// startServer starts berth with fresh root access keys on a free loopback
// port with a fresh data directory, waits until /healthz answers, logs in
// (an ECR login token for /v2), and stops it with SIGTERM when the test ends.
// On failure the test log gets berth's log.
func startServer(t testing.TB, opts ...serverOption) *server {
	t.Helper()
	s := &server{t: t, DataDir: t.TempDir(), createOnPush: true}
	s.AccessKey, s.SecretKey = newRootKeys()
	for _, o := range opts {
		o(s)
	}
	s.logPath = filepath.Join(t.TempDir(), "berth.log")
	t.Cleanup(s.cleanup)
	if err := s.start(""); err != nil {
		t.Fatalf("starting berth: %v", err)
	}
	return s
}

// start launches berth, on addr when it is set, else on a free port.
func (s *server) start(addr string) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		a := addr
		if a == "" || attempt > 0 {
			var err error
			if a, err = freeAddr(); err != nil {
				return err
			}
		}
		err := s.launch(a)
		if err == nil {
			return nil
		}
		lastErr = err
		// Another process may have taken the port between our probe and
		// berth's listen; only that case is worth another try.
		if !strings.Contains(s.logTail(4096), "address already in use") {
			return err
		}
	}
	return lastErr
}

func (s *server) launch(addr string) error {
	args := []string{"serve", "--listen", addr, "--data-dir", s.DataDir}
	if s.createOnPush {
		args = append(args, "--create-on-push")
	}
	args = append(args, s.extraArgs...)

	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- e2e: %s %s\n", berthBin, strings.Join(args, " "))
	cmd := exec.Command(berthBin, args...)
	// berth writes straight into the file, so nothing is lost on kill -9.
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(serverEnv(),
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

	err = s.waitHealthy(exited)
	if err == nil {
		err = s.login(context.Background())
	}
	if err != nil {
		s.signalAndWait(syscall.SIGKILL, 10*time.Second)
		return fmt.Errorf("%w\nberth log:\n%s", err, s.logTail(16<<10))
	}
	return nil
}

// serverEnv is the test's environment without BERTH_* settings, so a
// developer's shell cannot change what the tests run against.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BERTH_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *server) waitHealthy(exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + s.Addr + "/healthz"
	// Generous: a -race build on a loaded 2-core machine starts slowly.
	deadline := time.Now().Add(90 * time.Second)
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
	return fmt.Errorf("GET %s did not answer 200 within 90s", url)
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

// stop sends SIGTERM and requires a clean exit (status 0).
func (s *server) stop(t testing.TB) {
	t.Helper()
	err, timedOut := s.signalAndWait(syscall.SIGTERM, 60*time.Second)
	if timedOut {
		t.Errorf("berth did not exit within 60s of SIGTERM; killed it")
	} else if err != nil {
		t.Errorf("berth exited uncleanly after SIGTERM: %v", err)
	}
}

// kill stops berth with SIGKILL, as a crash would.
func (s *server) kill(t testing.TB) {
	t.Helper()
	s.signalAndWait(syscall.SIGKILL, 30*time.Second)
}

// restart starts berth again on the same data directory and, if it is still
// free, the same address.
func (s *server) restart(t testing.TB) {
	t.Helper()
	if s.running() {
		t.Fatalf("restart: berth is still running")
	}
	if err := s.start(s.Addr); err != nil {
		t.Fatalf("restarting berth: %v", err)
	}
}

func (s *server) cleanup() {
	t := s.t
	if s.running() {
		s.stop(t)
	}
	if s.logContains("WARNING: DATA RACE") {
		t.Errorf("berth reported a data race (see its log)")
	}
	if t.Failed() {
		t.Logf("berth log (%s, last 256 KiB):\n%s", s.logPath, s.logTail(256<<10))
	}
}

// logContains reports whether berth's log contains the line fragment s,
// reading the whole log line by line.
func (s *server) logContains(fragment string) bool {
	f, err := os.Open(s.logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), fragment) {
			return true
		}
	}
	return false
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
	off := fi.Size() - n
	if off < 0 {
		off = 0
	}
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

// URL returns the absolute URL of path on this server.
func (s *server) URL(path string) string { return "http://" + s.Addr + path }

// Registry is the registry host as image references spell it.
func (s *server) Registry() string { return s.Addr }

// httpClient is used for raw requests. It never follows redirects, so tests
// see exactly what berth answered.
var httpClient = &http.Client{
	// A backstop against a hung server, not an assertion on speed.
	Timeout: 10 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// response is a fully read HTTP response.
type response struct {
	Request string // "METHOD path", for messages
	Status  int
	Header  http.Header
	Body    []byte
}

func (r response) String() string {
	body := r.Body
	if len(body) > 2048 {
		body = append(body[:2048:2048], "..."...)
	}
	return fmt.Sprintf("%s -> %d %s", r.Request, r.Status, bytes.TrimSpace(body))
}

// maxResponseBody bounds what a test reads from berth.
const maxResponseBody = 64 << 20

// do sends a request to berth. hdr holds header name/value pairs.
func (s *server) do(t testing.TB, method, path string, body []byte, hdr ...string) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return s.doReader(t, method, path, r, int64(len(body)), hdr...)
}

// doReader sends a request whose body is streamed from r; size is its length
// or -1 for chunked transfer encoding.
func (s *server) doReader(t testing.TB, method, path string, r io.Reader, size int64, hdr ...string) response {
	t.Helper()
	resp, err := s.send(context.Background(), method, path, r, size, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// send is do without the test plumbing, for requests expected to fail.
func (s *server) send(ctx context.Context, method, path string, r io.Reader, size int64, hdr ...string) (response, error) {
	if len(hdr)%2 != 0 {
		return response{}, fmt.Errorf("odd header list %q", hdr)
	}
	u := path
	if !strings.HasPrefix(path, "http://") {
		u = s.URL(path)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return response{}, err
	}
	if r != nil {
		req.ContentLength = size
	}
	req.SetBasicAuth(loginUser, s.password())
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return response{}, fmt.Errorf("reading response: %w", err)
	}
	return response{Request: method + " " + path, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// ociError is one entry of an OCI error response.
type ociError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

func parseOCIErrors(body []byte) ([]ociError, error) {
	var v struct {
		Errors []ociError `json:"errors"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("not an OCI error body: %w", err)
	}
	if len(v.Errors) == 0 {
		return nil, errors.New("OCI error body has no errors")
	}
	return v.Errors, nil
}

// wantStatus checks a response's status.
func wantStatus(t testing.TB, r response, status int) bool {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d", r, r.Status, status)
		return false
	}
	return true
}

// wantError checks status and, for requests with a response body, that the
// first OCI error carries code.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	ok := r.Status == status
	got := "(no body)"
	if !strings.HasPrefix(r.Request, http.MethodHead+" ") {
		errs, err := parseOCIErrors(r.Body)
		switch {
		case err != nil:
			ok, got = false, err.Error()
		default:
			got = errs[0].Code
			ok = ok && got == code
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: error Content-Type %q, want application/json", r.Request, ct)
		}
	}
	if !ok {
		t.Errorf("%s\n  want: %d %s\n  got:  %d %s\n  body: %s", r.Request, status, code, r.Status, got, truncate(r.Body, 1024))
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
