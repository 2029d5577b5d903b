package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-registry/berth/test/internal/harness"
)

// pureOCIImage is a random image with OCI media types throughout (manifest,
// config and layers), as OCI-layout tools expect.
func pureOCIImage(t testing.TB, byteSize int64, layers int) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for i := 0; i < layers; i++ {
		l, err := random.Layer(byteSize, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// layoutImage reads the only image of an OCI layout directory.
func layoutImage(t testing.TB, dir string) (v1.Image, v1.Hash) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading OCI layout %s: %v", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("OCI layout %s holds %d manifests, want 1", dir, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, im.Manifests[0].Digest
}

func TestCrane(t *testing.T) {
	crane := harness.RequireTool(t, "crane")
	s := startServer(t)
	dir := t.TempDir()
	src := s.Registry() + "/e2e/crane:v1"
	cfg, err := s.dockerConfigDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// crane reads the login token from DOCKER_CONFIG.
	cenv := append(os.Environ(), "DOCKER_CONFIG="+cfg)
	cr := func(args ...string) string {
		t.Helper()
		return run(t, dir, cenv, crane, append(args, "--insecure")...)
	}

	// crane push reads a docker-style tarball written here.
	tarPath := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(tarPath, tagRef(t, s, "e2e/crane:v1"), randomImage(t, 128<<10, 3)); err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := mustDigest(t, fromTar).String()

	cr("push", tarPath, src)
	if got := strings.TrimSpace(cr("digest", src)); got != want {
		t.Errorf("crane digest %s: %s, want %s", src, got, want)
	}
	manifest := cr("manifest", src)
	if sum := sha256.Sum256([]byte(manifest)); "sha256:"+hex.EncodeToString(sum[:]) != want {
		t.Errorf("crane manifest %s: content does not hash to %s", src, want)
	}
	if tags := strings.Fields(cr("ls", s.Registry()+"/e2e/crane")); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("crane ls: %v, want [v1]", tags)
	}

	// Back out as an OCI layout, every blob verified.
	out := filepath.Join(dir, "pulled")
	cr("pull", "--format=oci", src, out)
	img, d := layoutImage(t, out)
	if d.String() != want {
		t.Errorf("crane pull: digest %s, want %s", d, want)
	}
	if err := verifyImage(img); err != nil {
		t.Errorf("crane pull: %v", err)
	}

	// Registry-side copy to another repository keeps the digest.
	dst := s.Registry() + "/e2e/crane-copy:v2"
	cr("copy", src, dst)
	if got := strings.TrimSpace(cr("digest", dst)); got != want {
		t.Errorf("crane digest %s: %s, want %s", dst, got, want)
	}
	catalog := strings.Fields(cr("catalog", s.Registry()))
	if !slices.Equal(catalog, []string{"e2e/crane", "e2e/crane-copy"}) {
		t.Errorf("crane catalog: %v, want [e2e/crane e2e/crane-copy]", catalog)
	}
}

func TestSkopeo(t *testing.T) {
	skopeo := harness.RequireTool(t, "skopeo")
	s := startServer(t)
	dir := t.TempDir()

	// skopeo cannot reach any public registry here; its source is an OCI
	// layout written with go-containerregistry.
	img := pureOCIImage(t, 96<<10, 2)
	want := mustDigest(t, img).String()
	src := filepath.Join(dir, "src")
	p, err := layout.Write(src, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}

	// --insecure-policy: no signature policy applies to test content.
	// --authfile: the login token, kept out of the command line.
	cfg, err := s.dockerConfigDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	authfile := filepath.Join(cfg, "config.json")
	sk := func(args ...string) string {
		t.Helper()
		args = append([]string{"--insecure-policy", args[0], "--authfile", authfile}, args[1:]...)
		return run(t, dir, nil, skopeo, args...)
	}
	dest := "docker://" + s.Registry() + "/e2e/skopeo:v1"
	sk("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:"+src+":v1", dest)

	var inspect struct {
		Digest string
		Layers []string
	}
	if err := json.Unmarshal([]byte(sk("inspect", "--tls-verify=false", dest)), &inspect); err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	if inspect.Digest != want {
		t.Errorf("skopeo inspect %s: digest %s, want %s", dest, inspect.Digest, want)
	}
	if len(inspect.Layers) != 2 {
		t.Errorf("skopeo inspect %s: %d layers, want 2", dest, len(inspect.Layers))
	}

	var tags struct{ Tags []string }
	if err := json.Unmarshal([]byte(sk("list-tags", "--tls-verify=false", "docker://"+s.Registry()+"/e2e/skopeo")), &tags); err != nil {
		t.Fatalf("skopeo list-tags: %v", err)
	}
	if !slices.Equal(tags.Tags, []string{"v1"}) {
		t.Errorf("skopeo list-tags: %v, want [v1]", tags.Tags)
	}

	// Back out into a fresh OCI layout.
	out := filepath.Join(dir, "out")
	sk("copy", "--preserve-digests", "--src-tls-verify=false", dest, "oci:"+out+":v1")
	pulled, d := layoutImage(t, out)
	if d.String() != want {
		t.Errorf("skopeo copy out: digest %s, want %s", d, want)
	}
	if err := verifyImage(pulled); err != nil {
		t.Errorf("skopeo copy out: %v", err)
	}

	// Registry to registry, then delete through skopeo.
	dest2 := "docker://" + s.Registry() + "/e2e/skopeo-copy:v2"
	sk("copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", dest, dest2)
	if err := json.Unmarshal([]byte(sk("inspect", "--tls-verify=false", dest2)), &inspect); err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	if inspect.Digest != want {
		t.Errorf("skopeo inspect %s: digest %s, want %s", dest2, inspect.Digest, want)
	}
	sk("delete", "--tls-verify=false", dest2)
	wantError(t, s.do(t, "GET", "/v2/e2e/skopeo-copy/manifests/"+want, nil), 404, "MANIFEST_UNKNOWN")
}
