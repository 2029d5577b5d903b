package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// Region is the AWS region berth answers as by default.
const Region = "us-east-1"

// LoginUser is the Basic user of ECR login tokens.
const LoginUser = "AWS"

// Options say how StartServer runs `berth serve`.
type Options struct {
	Bin string // the berth binary
	// Args follow `serve --listen ADDR --data-dir DIR`.
	Args []string
	// Env is added to the test's environment less its BERTH_* and AWS_*
	// variables, so a developer's shell cannot change what is tested.
	Env []string
	// AccessKey and SecretKey are the root access key; a fresh pair when
	// AccessKey is empty.
	AccessKey, SecretKey string
}

// Server is a berth process under test.
type Server struct {
	t       testing.TB
	bin     string
	args    []string
	env     []string
	logPath string

	DataDir   string
	AccessKey string
	SecretKey string

	mu      sync.Mutex
	addr    string // 127.0.0.1:port
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// StartServer starts berth on a free loopback port, waits until /healthz
// answers, and stops it with SIGTERM when the test ends, failing the test if
// it does not exit cleanly. A failed test gets berth's log.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		bin:       opts.Bin,
		args:      opts.Args,
		env:       append(EnvWithout("BERTH_", "AWS_"), opts.Env...),
		logPath:   filepath.Join(t.TempDir(), "berth.log"),
		DataDir:   t.TempDir(),
		AccessKey: opts.AccessKey,
		SecretKey: opts.SecretKey,
	}
	if s.AccessKey == "" {
		s.AccessKey, s.SecretKey = NewRootKeys()
	}
	s.env = append(s.env,
		"BERTH_ROOT_ACCESS_KEY_ID="+s.AccessKey,
		"BERTH_ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	t.Cleanup(s.cleanup)
	if err := s.start(""); err != nil {
		t.Fatalf("starting berth: %v", err)
	}
	return s
}

// NewRootKeys returns a fresh root access key pair, shaped as AWS's.
func NewRootKeys() (id, secret string) {
	return "AKIA" + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}

// RandomString returns n characters drawn from alphabet.
func RandomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Addr is where berth listens, as host:port (image references spell the
// registry so).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is the server's base URL, as --endpoint-url spells it.
func (s *Server) URL() string { return "http://" + s.Addr() }

// start launches berth, on addr when it is set, else on a free port.
func (s *Server) start(addr string) error {
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

func (s *Server) launch(addr string) error {
	args := append([]string{"serve", "--listen", addr, "--data-dir", s.DataDir}, s.args...)
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- harness: %s %s\n", s.bin, strings.Join(args, " "))
	cmd := exec.Command(s.bin, args...)
	// berth writes straight into the file, so nothing is lost on kill -9.
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = s.env
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("exec %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.addr, s.cmd, s.exited, s.exitErr = addr, cmd, exited, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	if err := s.waitHealthy(exited); err != nil {
		s.Kill()
		return fmt.Errorf("%w\nberth log:\n%s", err, s.logTail(16<<10))
	}
	return nil
}

func (s *Server) waitHealthy(exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := s.URL() + "/healthz"
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

func (s *Server) exitError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitErr
}

// Running reports whether the berth process is still alive.
func (s *Server) Running() bool {
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
func (s *Server) signalAndWait(sig syscall.Signal, timeout time.Duration) (exitErr error, timedOut bool) {
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

// Stop sends SIGTERM and requires a clean exit (status 0).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	err, timedOut := s.signalAndWait(syscall.SIGTERM, 60*time.Second)
	if timedOut {
		t.Errorf("berth did not exit within 60s of SIGTERM; killed it")
	} else if err != nil {
		t.Errorf("berth exited uncleanly after SIGTERM: %v", err)
	}
}

// Kill stops berth with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.signalAndWait(syscall.SIGKILL, 30*time.Second)
}

// Restart starts berth again on the same data directory and, if it is
// still free, the same address.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.Running() {
		t.Fatalf("restart: berth is still running")
	}
	if err := s.start(s.Addr()); err != nil {
		t.Fatalf("restarting berth: %v", err)
	}
}

func (s *Server) cleanup() {
	t := s.t
	if s.Running() {
		s.Stop(t)
	}
	// The race runtime reports in the log; its exit status alone may be lost
	// when the process was killed.
	if s.logContains("WARNING: DATA RACE") {
		t.Errorf("berth reported a data race (see its log)")
	}
	if t.Failed() {
		t.Logf("berth %s log (%s, last 256 KiB):\n%s", s.Addr(), s.logPath, s.logTail(256<<10))
	}
}

// logContains reports whether a line of berth's log contains fragment.
func (s *Server) logContains(fragment string) bool {
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
func (s *Server) logTail(n int64) string {
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

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ECRClient is an AWS SDK ECR client for this server, signed with its root
// key; optFns adjust it (retries, HTTP client).
func (s *Server) ECRClient(optFns ...func(*ecr.Options)) *ecr.Client {
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
	optFns = append([]func(*ecr.Options){func(o *ecr.Options) { o.BaseEndpoint = aws.String(s.URL()) }}, optFns...)
	return ecr.NewFromConfig(cfg, optFns...)
}

// Login gets an ECR login token (GetAuthorizationToken) and returns its
// password, which /v2 clients present as Basic user AWS.
func Login(ctx context.Context, c *ecr.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", fmt.Errorf("GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) != 1 || out.AuthorizationData[0].AuthorizationToken == nil {
		return "", errors.New("GetAuthorizationToken: no authorization data")
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return "", fmt.Errorf("GetAuthorizationToken: token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != LoginUser || pass == "" {
		return "", errors.New("GetAuthorizationToken: token is not AWS:<password>")
	}
	return pass, nil
}
