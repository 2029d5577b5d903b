package scaleout

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// TestDockerImage builds the repository's Dockerfile (FROM scratch around
// the static binary this package built), runs the image once with its port
// published on 127.0.0.1 and checks /healthz.
func TestDockerImage(t *testing.T) {
	docker := harness.RequireTool(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := harness.DockerInfo(ctx, docker); err != nil {
		harness.MissingTool(t, "docker daemon unreachable: %v", err)
	}

	// The build context as the README builds it: the Dockerfile, its
	// .dockerignore, deploy/data and the binary, named berth.
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", ".dockerignore", "deploy/data/README"} {
		copyFile(t, filepath.Join(env.root, f), filepath.Join(dir, f), 0o644)
	}
	copyFile(t, env.bin, filepath.Join(dir, "berth"), 0o755)

	tag := "berth-scaleout-test:" + randomHex(6)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command(docker, "rmi", "-f", tag).Run() })

	id := run("run", "-d", "-p", "127.0.0.1::5000", tag)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command(docker, "logs", id).CombinedOutput()
			t.Logf("container log:\n%s", out)
		}
		_ = exec.Command(docker, "rm", "-f", id).Run()
	})
	port := run("port", id, "5000/tcp")
	addr := strings.Split(port, "\n")[0] // 127.0.0.1:NNNNN
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET http://%s/healthz: no 200 within 60s (last error %v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}
