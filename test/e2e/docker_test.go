package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// requireDocker returns the docker CLI when an engine answers.
func requireDocker(t *testing.T) string {
	t.Helper()
	docker := harness.RequireTool(t, "docker")
	if err := harness.DockerInfo(t.Context(), docker); err != nil {
		harness.MissingTool(t, "%v", err)
	}
	return docker
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, harness.Truncate(out, 16<<10))
	}
	return string(out)
}

var dockerPushDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64}) size: \d+`)

// TestDockerPushPullRun builds a FROM-scratch image holding one static binary,
// pushes it to berth with the Docker engine, removes it locally, pulls it back
// and runs it.
func TestDockerPushPullRun(t *testing.T) {
	docker := requireDocker(t)
	s := startServer(t)

	// A tiny static program that prints a token unique to this run, so the
	// output proves the container runs the image we pushed.
	token := fmt.Sprintf("berth-e2e-%d", time.Now().UnixNano())
	dir := harness.BuildHello(t, token)
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n")

	// The login token goes into a Docker configuration of our own, not the
	// user's ~/.docker.
	cfg, err := s.dockerConfigDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	denv := append(os.Environ(), "DOCKER_CONFIG="+cfg)

	image := s.Registry() + "/e2e/hello:v1"
	t.Cleanup(func() {
		// Remove only our image; never prune, the engine may be shared.
		exec.Command(docker, "rmi", "-f", image).Run()
	})
	run(t, dir, denv, docker, "build", "-t", image, ".")
	out := run(t, dir, denv, docker, "push", image)
	m := dockerPushDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push printed no digest:\n%s", out)
	}
	pushed := m[1]

	// Berth serves the manifest docker pushed, under the tag and the digest.
	r := s.do(t, http.MethodHead, "/v2/e2e/hello/manifests/v1", nil,
		"Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	if wantStatus(t, r, http.StatusOK) {
		if got := r.Header.Get("Docker-Content-Digest"); got != pushed {
			t.Errorf("%s: Docker-Content-Digest %q, docker push reported %s", r.Request, got, pushed)
		}
	}

	run(t, dir, denv, docker, "rmi", image)
	if err := exec.Command(docker, "image", "inspect", image).Run(); err == nil {
		t.Fatalf("%s still present locally after docker rmi", image)
	}
	out = run(t, dir, denv, docker, "pull", image)
	if !strings.Contains(out, pushed) {
		t.Errorf("docker pull did not report digest %s:\n%s", pushed, out)
	}
	out = run(t, dir, denv, docker, "run", "--rm", image)
	if want := "hello from " + token; !slices.Contains(strings.Split(out, "\n"), want) {
		t.Errorf("docker run printed %q, want the line %q", out, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
