package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ceilingChildEnv makes the test binary act as `berth bench-ceiling`, so
// the child-process path runs for real.
const ceilingChildEnv = "BERTH_BENCH_CEILING_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(ceilingChildEnv) == "1" {
		// startCeilingProcess appends "--dir", dir.
		dir := os.Args[len(os.Args)-1]
		if err := RunCeilingProcess(context.Background(), dir, os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCeilingInItsOwnProcess(t *testing.T) {
	t.Setenv(ceilingChildEnv, "1")
	o, err := Options{CeilingCommand: []string{os.Args[0]}, CeilingDir: t.TempDir(), Smoke: true}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := startCeiling(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.cl.hello(ctx, &buf); err != nil {
		c.close()
		t.Fatalf("hello from the child: %v", err)
	}
	base := c.cl.base
	c.close() // closes the child's stdin and waits for it to exit
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Fatalf("ceiling dir left behind: %v", err)
	}
	c2 := &client{opts: o, base: base, http: c.cl.http}
	if err := c2.hello(ctx, &buf); err == nil {
		t.Fatal("the child still answers after close")
	}
}

func TestCeilingProcessThatFailsToStart(t *testing.T) {
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) here")
	}
	o, err := Options{CeilingCommand: []string{exe}, CeilingDir: t.TempDir(), Smoke: true}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	// true(1) exits at once without printing the listening line.
	if _, err := startCeiling(context.Background(), o); err == nil {
		t.Fatal("started a ceiling from a process that never listened")
	}
}

// The ideal server writes every PUT to a file of its own and keeps it, as a
// registry keeps blobs (see ceilingServer), and serves the latest one back.
func TestCeilingServerKeepsEveryPut(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(&ceilingServer{dir: dir, latest: make(map[string]string)})
	defer srv.Close()
	body := []byte("layer")
	sum := sha256.Sum256(body)
	url := srv.URL + "/v2/ceiling/blobs/sha256:" + hex.EncodeToString(sum[:])

	for range 3 {
		req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: status %d", resp.StatusCode)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 3 {
		t.Fatalf("files after 3 PUTs of one digest: %d (%v), want 3", len(entries), err)
	}

	resp, err := srv.Client().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("GET: status %d, %q, %v", resp.StatusCode, got, err)
	}

	resp, err = srv.Client().Get(srv.URL + "/v2/ceiling/blobs/sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a digest never PUT: status %d, want 404", resp.StatusCode)
	}
}
