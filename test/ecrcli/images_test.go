package ecrcli

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-registry/berth/test/internal/harness"
)

// imageClient is what the walkthrough does with docker: log in, build, tag,
// push, remove, pull and run.
type imageClient interface {
	// login logs in to host as AWS with the get-login-password output.
	login(t *testing.T, host, password string)
	// loginFails checks that logging in with these credentials fails.
	loginFails(t *testing.T, host, user, password string)
	// buildTagPush builds a FROM-scratch image running appDir/hello, pushes
	// it as image (uri:latest) and returns the manifest digest pushed.
	buildTagPush(t *testing.T, appDir, image, uri string) string
	// removePullRun drops the local image, pulls image again, checks it is
	// digest and that running it prints want.
	removePullRun(t *testing.T, image, digest, password, want string)
}

// chooseImageClient picks the Docker engine when `docker info` works (it
// must under CI=true), else crane; BERTH_ECRCLI_CLIENT forces one.
func chooseImageClient(t *testing.T) imageClient {
	t.Helper()
	force := os.Getenv("BERTH_ECRCLI_CLIENT")
	switch force {
	case "", "docker", "crane":
	default:
		t.Fatalf("BERTH_ECRCLI_CLIENT=%q: want docker or crane", force)
	}
	if force != "crane" {
		why := "docker is not on PATH"
		if docker := harness.LookTool("docker"); docker != "" {
			err := harness.DockerInfo(t.Context(), docker)
			if err == nil {
				return newDockerClient(t, docker)
			}
			why = err.Error()
		}
		if harness.CI() || force == "docker" {
			t.Fatalf("a Docker engine is required (CI=true or BERTH_ECRCLI_CLIENT=docker): %s", why)
		}
		t.Logf("no Docker engine (%s); pushing with crane", why)
	}
	crane := harness.LookTool("crane")
	if crane == "" {
		t.Skip("neither a Docker engine nor crane is available (run scripts/install-test-deps.sh)")
	}
	return newCraneClient(t, crane)
}

// clientEnv is the test's environment with DOCKER_CONFIG pointing at a fresh
// directory, so logins never touch the developer's configuration.
func clientEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_CONFIG=") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_CONFIG="+t.TempDir())
}

type dockerClient struct {
	bin   string
	env   []string
	local string // the local build tag, as my-nginx-app is in the walkthrough
}

func newDockerClient(t *testing.T, bin string) *dockerClient {
	t.Helper()
	// The engine may be shared: a local name unique to this run.
	// BuildKit (docker build with buildx) attaches provenance attestations by
	// default, which turns the pushed image into an index with an untagged
	// attestation manifest beside it; the walkthrough's image is one manifest.
	env := append(clientEnv(t), "BUILDX_NO_DEFAULT_ATTESTATIONS=1")
	return &dockerClient{bin: bin, env: env, local: "berth-ecrcli-app-" + harness.RandomString(10, "abcdefghijklmnopqrstuvwxyz0123456789")}
}

func (d *dockerClient) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return execute(t, "", d.env, stdin, d.bin, args...)
}

func (d *dockerClient) must(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return succeed(t, "", d.env, stdin, d.bin, args...)
}

// quiet runs a clean-up command, ignoring how it went.
func (d *dockerClient) quiet(args ...string) {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env
	_ = cmd.Run()
}

func (d *dockerClient) login(t *testing.T, host, password string) {
	t.Helper()
	t.Cleanup(func() { d.quiet("logout", host) })
	r := d.must(t, password, "login", "--username", "AWS", "--password-stdin", host)
	if !strings.Contains(r.Stdout, "Login Succeeded") {
		t.Errorf("%s printed %q, want Login Succeeded", r.Cmd, r.Stdout)
	}
}

func (d *dockerClient) loginFails(t *testing.T, host, user, password string) {
	t.Helper()
	// Log out first so no stored credential can make it succeed.
	d.must(t, "", "logout", host)
	r := d.run(t, password, "login", "--username", user, "--password-stdin", host)
	if r.Code == 0 || strings.Contains(r.Stdout, "Login Succeeded") {
		t.Errorf("%s with a wrong password: exit status %d, stdout %q; want a failure", r.Cmd, r.Code, r.Stdout)
	}
	if out := r.Stdout + r.Stderr; !strings.Contains(out, "401") && !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Errorf("%s with a wrong password: output %q does not say 401 Unauthorized", r.Cmd, out)
	}
}

var dockerPushDigest = regexp.MustCompile(`latest: digest: (sha256:[0-9a-f]{64}) size: \d+`)

func (d *dockerClient) buildTagPush(t *testing.T, appDir, image, uri string) string {
	t.Helper()
	t.Cleanup(func() {
		// Remove only our images; never prune, the engine may be shared.
		d.quiet("rmi", "-f", image, d.local+":latest")
	})
	writeFile(t, filepath.Join(appDir, "Dockerfile"), "FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n")
	succeed(t, appDir, d.env, "", d.bin, "build", "-t", d.local, ".")
	d.must(t, "", "tag", d.local+":latest", image)
	if r := d.must(t, "", "images", uri); !strings.Contains(r.Stdout, uri) {
		t.Errorf("%s does not list %s:\n%s", r.Cmd, uri, r.Stdout)
	}
	r := d.must(t, "", "push", image)
	if want := "The push refers to repository [" + uri + "]"; !strings.Contains(r.Stdout, want) {
		t.Errorf("%s printed no %q:\n%s", r.Cmd, want, r.Stdout)
	}
	m := dockerPushDigest.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("%s printed no digest:\n%s", r.Cmd, r.Stdout)
	}
	return m[1]
}

func (d *dockerClient) removePullRun(t *testing.T, image, digest, password, want string) {
	t.Helper()
	d.must(t, "", "rmi", image)
	d.must(t, "", "rmi", d.local+":latest")
	if r := d.run(t, "", "image", "inspect", image); r.Code == 0 {
		t.Fatalf("%s still present locally after docker rmi", image)
	}
	// "Authenticate again if needed."
	host, _, _ := strings.Cut(image, "/")
	d.login(t, host, password)
	r := d.must(t, "", "pull", image)
	if !strings.Contains(r.Stdout, "Digest: "+digest) {
		t.Errorf("%s did not report digest %s:\n%s", r.Cmd, digest, r.Stdout)
	}
	if !strings.Contains(r.Stdout, "Downloaded newer image for "+image) {
		t.Errorf("%s did not download %s:\n%s", r.Cmd, image, r.Stdout)
	}
	r = d.must(t, "", "run", "--rm", image)
	if !slices.Contains(strings.Split(r.Stdout, "\n"), want) {
		t.Errorf("%s printed %q, want the line %q", r.Cmd, r.Stdout, want)
	}
}

// craneClient stands in for docker on a machine without a Docker engine: the
// image is built in-process, pushed and exported with crane, and its binary
// run straight from the exported filesystem.
type craneClient struct {
	bin string
	env []string
	dir string
}

func newCraneClient(t *testing.T, bin string) *craneClient {
	return &craneClient{bin: bin, env: clientEnv(t), dir: t.TempDir()}
}

func (c *craneClient) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return execute(t, c.dir, c.env, stdin, c.bin, args...)
}

func (c *craneClient) must(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return succeed(t, c.dir, c.env, stdin, c.bin, args...)
}

func (c *craneClient) login(t *testing.T, host, password string) {
	t.Helper()
	c.must(t, password, "auth", "login", host, "--username", "AWS", "--password-stdin")
	t.Cleanup(func() {
		cmd := exec.Command(c.bin, "auth", "logout", host)
		cmd.Env = c.env
		cmd.Run()
	})
}

// loginFails: crane auth login only stores credentials, so the failure shows
// on the first request that uses them.
func (c *craneClient) loginFails(t *testing.T, host, user, password string) {
	t.Helper()
	c.must(t, password, "auth", "login", host, "--username", user, "--password-stdin")
	r := c.run(t, "", "catalog", "--insecure", host)
	if r.Code == 0 {
		t.Errorf("%s with a wrong password succeeded:\n%s", r.Cmd, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "401") && !strings.Contains(r.Stderr, "UNAUTHORIZED") {
		t.Errorf("%s with a wrong password: stderr %q does not say 401 UNAUTHORIZED", r.Cmd, r.Stderr)
	}
}

var craneDigest = regexp.MustCompile(`@(sha256:[0-9a-f]{64})\s*$`)

func (c *craneClient) buildTagPush(t *testing.T, appDir, image, uri string) string {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join(appDir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(bin)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/hello"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(c.dir, "image.tar")
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		t.Fatal(err)
	}
	r := c.must(t, "", "push", "--insecure", tarPath, image)
	m := craneDigest.FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("%s printed no digest:\n%s", r.Cmd, r.Stdout)
	}
	return m[1]
}

func (c *craneClient) removePullRun(t *testing.T, image, digest, password, want string) {
	t.Helper()
	if r := c.must(t, "", "digest", "--insecure", image); strings.TrimSpace(r.Stdout) != digest {
		t.Errorf("%s: %s, want %s", r.Cmd, strings.TrimSpace(r.Stdout), digest)
	}
	fsTar := filepath.Join(c.dir, "fs.tar")
	c.must(t, "", "export", "--insecure", image, fsTar)
	bin, err := extract(fsTar, "hello")
	if err != nil {
		t.Fatalf("crane export %s: %v", image, err)
	}
	hello := filepath.Join(c.dir, "hello-pulled")
	if err := os.WriteFile(hello, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		t.Logf("not running the pulled linux binary on %s", runtime.GOOS)
		return
	}
	r := succeed(t, c.dir, nil, "", hello)
	if !slices.Contains(strings.Split(r.Stdout, "\n"), want) {
		t.Errorf("the pulled /hello printed %q, want the line %q", r.Stdout, want)
	}
}

// extract returns the content of file in a tar archive.
func extract(archive, file string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New(file + " not in the image filesystem")
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(strings.TrimPrefix(h.Name, "/")) == file {
			return io.ReadAll(tr)
		}
	}
}
