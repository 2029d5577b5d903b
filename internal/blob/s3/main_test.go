package s3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The behavioural tests run against a real S3 server: the one named by
// BERTH_S3_URL (with credentials in the usual AWS variables) if set, else a
// versitygw that TestMain starts with scripts/s3-test-server.sh when the
// binary is installed. Without one they skip, except under CI=true, where
// they fail.
var (
	testURL     string // s3:// URL of the test bucket, "" when none
	testSkipWhy string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if u := os.Getenv("BERTH_S3_URL"); u != "" {
		testURL = u
		return m.Run()
	}
	stop, err := startServer()
	if err != nil {
		testSkipWhy = err.Error()
		return m.Run()
	}
	defer stop()
	return m.Run()
}

// startServer runs scripts/s3-test-server.sh start (never installing) and
// applies the exports it prints to this process's environment.
func startServer() (stop func(), err error) {
	script, err := filepath.Abs("../../../scripts/s3-test-server.sh")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-s3-test-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(script, "start", dir)
	cmd.Env = append(os.Environ(), "BERTH_S3_NO_INSTALL=1", "BERTH_S3_PARENT_PID="+strconv.Itoa(os.Getpid()))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("no S3 test server (%v): %s", err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		v = strings.Trim(v, "'")
		os.Setenv(k, v)
		if k == "BERTH_S3_URL" {
			testURL = v
		}
	}
	// Keep shared AWS config files and instance metadata out of the tests.
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return func() {
		stopCmd := exec.Command(script, "stop", dir)
		stopCmd.Stderr = os.Stderr
		_ = stopCmd.Run()
	}, nil
}

// newTestStore opens a store on the test bucket under a fresh prefix, so
// tests never see each other's objects.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return openTestStore(t, newTestConfig(t))
}

// newTestConfig returns the test bucket's config with a fresh prefix.
func newTestConfig(t testing.TB) Config {
	t.Helper()
	if testURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("S3 test server required under CI=true: %s", testSkipWhy)
		}
		t.Skipf("S3 test server unavailable: %s", testSkipWhy)
	}
	cfg, err := ParseURL(testURL)
	if err != nil {
		t.Fatalf("BERTH_S3_URL: %v", err)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg.Prefix = strings.Trim(cfg.Prefix+"/"+sanitize(t.Name())+"-"+hex.EncodeToString(b[:]), "/")
	return cfg
}

// openTestStore opens another Store ("another node") on cfg.
func openTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, name)
}
