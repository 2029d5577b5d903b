package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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

	"github.com/jackc/pgx/v5"

	"github.com/berth-registry/berth/test/internal/harness"
)

// env is what TestMain set up: the berth binary and the shared servers.
var env struct {
	bin     string // berth, built CGO_ENABLED=0 as shipped
	root    string // module root
	skipWhy string // why the shared servers are missing ("" when present)

	pgDSN   string // the PostgreSQL server's admin DSN
	pgState string // scripts/pg-test-server.sh state directory

	s3 *s3Server
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := harness.ModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: %v\n", err)
		return 1
	}
	env.root = root
	work, err := os.MkdirTemp("", "berth-scaleout-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: %v\n", err)
		return 1
	}
	defer os.RemoveAll(work)
	// PostgreSQL runs as the postgres OS user under root: it must reach its
	// state directory inside this one.
	if err := os.Chmod(work, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: %v\n", err)
		return 1
	}

	// BERTH_SCALEOUT_BIN runs a prebuilt binary instead of building one.
	// Built static, as it ships: the Dockerfile test copies this very binary
	// into a FROM scratch image.
	bin, cleanup, err := harness.BerthBinary("BERTH_SCALEOUT_BIN", false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: %v\n", err)
		return 1
	}
	defer cleanup()
	env.bin = bin
	stop, err := startSharedServers(work)
	if err != nil {
		env.skipWhy = err.Error()
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	return code
}

// requireServers skips (or under CI fails) when PostgreSQL or versitygw
// could not be started.
func requireServers(t testing.TB) {
	t.Helper()
	if env.skipWhy != "" {
		harness.MissingTool(t, "scale-out servers unavailable: %s", env.skipWhy)
	}
}

// startSharedServers starts one PostgreSQL and one versitygw through the
// repository's scripts. Each test cluster gets its own database and bucket
// prefix on them.
func startSharedServers(work string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	pgScript := filepath.Join(env.root, "scripts", "pg-test-server.sh")
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/pg_ctl"); err != nil && !harness.CI() {
		return nil, errors.New("PostgreSQL 15 server binaries not installed (apt-get install postgresql-15)")
	}
	env.pgState = filepath.Join(work, "pg")
	out, err := exec.Command(pgScript, "start", env.pgState).Output()
	if err != nil {
		return nil, fmt.Errorf("pg-test-server.sh start: %w: %s", err, stderrOf(err))
	}
	stops = append(stops, func() { _ = exec.Command(pgScript, "stop", env.pgState).Run() })
	env.pgDSN = strings.TrimSpace(string(out))

	s3, err := startS3(filepath.Join(work, "s3"))
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, s3.stop)
	env.s3 = s3
	return stop, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

// s3Server is the versitygw that scripts/s3-test-server.sh started, with
// what it takes to stop it and start it again on the same port and data.
type s3Server struct {
	script string
	dir    string
	vars   map[string]string // the exports the script printed

	mu  sync.Mutex
	cmd *exec.Cmd // set once the test restarted it
}

func startS3(dir string) (*s3Server, error) {
	if harness.CI() {
		// CI installs it (scripts/install-test-deps.sh); the script may too.
	} else if harness.LookTool("versitygw") == "" {
		return nil, errors.New("versitygw not installed (scripts/install-test-deps.sh)")
	}
	s := &s3Server{script: filepath.Join(env.root, "scripts", "s3-test-server.sh"), dir: dir, vars: map[string]string{}}
	cmd := exec.Command(s.script, "start", dir)
	cmd.Env = append(os.Environ(), "BERTH_S3_PARENT_PID="+strconv.Itoa(os.Getpid()), "PATH="+strings.Join(append(harness.GoBinDirs(), os.Getenv("PATH")), string(os.PathListSeparator)))
	if !harness.CI() {
		cmd.Env = append(cmd.Env, "BERTH_S3_NO_INSTALL=1")
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("s3-test-server.sh start: %w: %s", err, stderrOf(err))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		s.vars[k] = strings.Trim(v, "'")
	}
	if s.vars["AWS_ENDPOINT_URL_S3"] == "" || s.vars["AWS_ACCESS_KEY_ID"] == "" {
		s.stop()
		return nil, fmt.Errorf("s3-test-server.sh printed no endpoint: %s", out)
	}
	return s, nil
}

func (s *s3Server) endpoint() string { return s.vars["AWS_ENDPOINT_URL_S3"] }

// blobStoreURL is the --blob-store URL of a fresh prefix in the test bucket.
func (s *s3Server) blobStoreURL(prefix string) string {
	return fmt.Sprintf("s3://berth-test/%s?endpoint=%s&region=us-east-1&path-style=true", prefix, s.endpoint())
}

// awsEnv is the environment berth needs to reach the bucket.
func (s *s3Server) awsEnv() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.vars["AWS_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY=" + s.vars["AWS_SECRET_ACCESS_KEY"],
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// pid is the running versitygw's process id.
func (s *s3Server) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// kill stops versitygw (SIGKILL: an outage, not a shutdown).
func (s *s3Server) kill() error {
	pid, err := s.pid()
	if err != nil {
		return err
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Wait()
		return nil
	}
	// Started by the script (not our child): wait until it is gone.
	for i := 0; i < 200; i++ {
		if p.Signal(syscall.Signal(0)) != nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("versitygw pid %d did not exit", pid)
}

// restart starts versitygw again on the same port, data and credentials,
// and waits until it answers.
func (s *s3Server) restart() error {
	bin := harness.LookTool("versitygw")
	if bin == "" {
		return errors.New("restart versitygw: not installed")
	}
	port := s.endpoint()[strings.LastIndexByte(s.endpoint(), ':')+1:]
	logf, err := os.OpenFile(filepath.Join(s.dir, "versitygw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+port, "--region", "us-east-1", "--quiet", "posix", filepath.Join(s.dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.vars["AWS_ACCESS_KEY_ID"], "ROOT_SECRET_KEY="+s.vars["AWS_SECRET_ACCESS_KEY"])
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart versitygw: %w", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	if err := os.WriteFile(filepath.Join(s.dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Second}
	for i := 0; i < 400; i++ {
		resp, err := client.Get(s.endpoint() + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("versitygw did not come back")
}

func (s *s3Server) stop() {
	_ = exec.Command(s.script, "stop", s.dir).Run()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Wait()
	}
}

// pgCtl runs pg_ctl as the user that owns the server.
func pgCtl(args ...string) error {
	args = append([]string{"/usr/lib/postgresql/15/bin/pg_ctl"}, args...)
	var cmd *exec.Cmd
	if os.Getuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", args[1], err, b)
	}
	return nil
}

// stopPostgres stops the shared PostgreSQL (fast: connections are cut).
func stopPostgres() error {
	return pgCtl("stop", "-w", "-t", "60", "-m", "fast", "-D", filepath.Join(env.pgState, "data"))
}

// startPostgres starts it again on the same port.
func startPostgres() error {
	port, err := os.ReadFile(filepath.Join(env.pgState, "port"))
	if err != nil {
		return err
	}
	return pgCtl("start", "-w", "-t", "60", "-D", filepath.Join(env.pgState, "data"), "-l", filepath.Join(env.pgState, "server.log"),
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %s -k '%s'", strings.TrimSpace(string(port)), env.pgState))
}

// restartPostgres restarts the shared PostgreSQL (fast shutdown: every
// connection is cut) with the options it was started with.
func restartPostgres() error {
	return pgCtl("restart", "-w", "-t", "60", "-m", "fast",
		"-D", filepath.Join(env.pgState, "data"), "-l", filepath.Join(env.pgState, "server.log"))
}

// createDatabase makes a fresh database and returns its DSN.
func createDatabase(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, env.pgDSN)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return strings.Replace(env.pgDSN, "/postgres?", "/"+name+"?", 1)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is a set of berth nodes sharing one database, one bucket prefix,
// one master key and one root access key.
type cluster struct {
	t         testing.TB
	name      string
	dsn       string
	blobURL   string
	keyFile   string
	accessKey string
	secretKey string
	extra     []string
	nodes     []*node
}

// newCluster creates the shared state and starts n nodes, one after the
// other (the first one bootstraps the account).
func newCluster(t testing.TB, n int, extraArgs ...string) *cluster {
	t.Helper()
	requireServers(t)
	name := "so_" + randomHex(6)
	c := &cluster{
		t: t, name: name, dsn: createDatabase(t, name), blobURL: env.s3.blobStoreURL(name),
		keyFile: filepath.Join(t.TempDir(), "master.key"),
		extra:   extraArgs,
	}
	c.accessKey, c.secretKey = harness.NewRootKeys()
	if err := os.WriteFile(c.keyFile, []byte(randomHex(32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c.addNode()
	}
	return c
}

// node is one berth process of a cluster.
type node = harness.Server

// addNode starts one more node of the cluster.
func (c *cluster) addNode() *node {
	c.t.Helper()
	args := []string{"--create-on-push", "--log-format", "text",
		"--metadata", c.dsn, "--blob-store", c.blobURL, "--master-key-file", c.keyFile}
	n := harness.StartServer(c.t, harness.Options{
		Bin:       env.bin,
		Args:      append(args, c.extra...),
		Env:       env.s3.awsEnv(),
		AccessKey: c.accessKey,
		SecretKey: c.secretKey,
	})
	c.nodes = append(c.nodes, n)
	return n
}
