package ecrcli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// lifecycleWaitLimit bounds how long the test waits for the scheduler (which
// runs every second here) to apply a policy; a backstop, not a speed check.
const lifecycleWaitLimit = 2 * time.Minute

// TestLifecycleWithCLI drives lifecycle policies with the AWS CLI against a
// real berth whose scheduler runs every second: a draft policy previewed and
// awaited with `aws ecr wait lifecycle-policy-preview-complete`, an image
// archived (listed, not pullable over /v2) and restored, then the policy put
// and applied by the scheduler, leaving exactly the expected image.
func TestLifecycleWithCLI(t *testing.T) {
	awsBin := harness.RequireTool(t, "aws")
	s := startServer(t, "--lifecycle-interval", "1s")
	aws := newAWSCLI(t, awsBin, s)
	const repo = "lc-repo"
	aws.must(t, "ecr", "create-repository", "--repository-name", repo)
	password := strings.TrimSpace(aws.must(t, "ecr", "get-login-password").Stdout)
	v2 := &v2Client{t: t, base: s.URL(), password: password}

	digests := map[string]string{}
	for _, tag := range []string{"v1", "v2", "v3"} {
		digests[tag] = v2.pushImage(repo, tag)
	}

	// Preview a draft policy (not put yet, so the scheduler leaves the images alone).
	policy := `{"rules":[{"rulePriority":1,"description":"keep the newest v image","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	started := aws.json(t, "ecr", "start-lifecycle-policy-preview", "--repository-name", repo, "--lifecycle-policy-text", policy)
	if started["status"] != "IN_PROGRESS" && started["status"] != "COMPLETE" {
		t.Fatalf("start-lifecycle-policy-preview status %v", started["status"])
	}
	aws.must(t, "ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", repo)
	preview := aws.json(t, "ecr", "get-lifecycle-policy-preview", "--repository-name", repo)
	if preview["status"] != "COMPLETE" {
		t.Fatalf("preview status %v", preview["status"])
	}
	var previewed []string
	results, _ := preview["previewResults"].([]any)
	for _, r := range results {
		m, _ := r.(map[string]any)
		previewed = append(previewed, fmt.Sprint(m["imageDigest"]))
		if action, _ := m["action"].(map[string]any); action["type"] != "EXPIRE" || fmt.Sprint(m["appliedRulePriority"]) != "1" {
			t.Errorf("preview result %v", m)
		}
	}
	if want := sortedStrings(digests["v1"], digests["v2"]); !slices.Equal(sortedStrings(previewed...), want) {
		t.Fatalf("preview expires %v, want %v", previewed, want)
	}
	if sum, _ := preview["summary"].(map[string]any); fmt.Sprint(sum["expiringImageTotalCount"]) != "2" {
		t.Fatalf("preview summary %v", preview["summary"])
	}

	// Archive v3: still listed, not pullable; restore it.
	up := aws.json(t, "ecr", "update-image-storage-class", "--repository-name", repo,
		"--image-id", "imageTag=v3", "--target-storage-class", "ARCHIVE")
	if up["imageStatus"] != "ARCHIVED" {
		t.Fatalf("update-image-storage-class ARCHIVE: %v", up)
	}
	archived := aws.json(t, "ecr", "describe-images", "--repository-name", repo, "--filter", "imageStatus=ARCHIVED")
	if details, _ := archived["imageDetails"].([]any); len(details) != 1 {
		t.Fatalf("archived images %v", archived)
	}
	status, body := v2.get("/v2/" + repo + "/manifests/v3")
	if status != http.StatusNotFound || !strings.Contains(body, "MANIFEST_UNKNOWN") || !strings.Contains(body, "archived") {
		t.Fatalf("GET archived manifest: %d %s", status, body)
	}
	up = aws.json(t, "ecr", "update-image-storage-class", "--repository-name", repo,
		"--image-id", "imageTag=v3", "--target-storage-class", "STANDARD")
	if up["imageStatus"] != "ACTIVATING" && up["imageStatus"] != "ACTIVE" {
		t.Fatalf("update-image-storage-class STANDARD: %v", up)
	}
	waitFor(t, "v3 restored", func() bool {
		status, _ := v2.get("/v2/" + repo + "/manifests/v3")
		return status == http.StatusOK
	})

	// Put the policy; the scheduler applies it.
	aws.must(t, "ecr", "put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", policy)
	waitFor(t, "the policy applied", func() bool {
		out := aws.json(t, "ecr", "describe-images", "--repository-name", repo)
		details, _ := out["imageDetails"].([]any)
		return len(details) == 1
	})
	out := aws.json(t, "ecr", "describe-images", "--repository-name", repo)
	details, _ := out["imageDetails"].([]any)
	if d, _ := details[0].(map[string]any); d["imageDigest"] != digests["v3"] {
		t.Fatalf("remaining image %v, want v3 (%s)", d, digests["v3"])
	}
	got := aws.json(t, "ecr", "get-lifecycle-policy", "--repository-name", repo)
	if got["lastEvaluatedAt"] == nil {
		t.Fatalf("get-lifecycle-policy has no lastEvaluatedAt: %v", got)
	}
	r := aws.run(t, "ecr", "delete-lifecycle-policy", "--repository-name", repo)
	if r.Code != 0 {
		t.Fatalf("delete-lifecycle-policy: %s", r.Stderr)
	}
	r = aws.run(t, "ecr", "get-lifecycle-policy", "--repository-name", repo)
	if r.Code == 0 || !strings.Contains(r.Stderr, "LifecyclePolicyNotFoundException") {
		t.Fatalf("get-lifecycle-policy after delete: %d %s", r.Code, r.Stderr)
	}
}

func sortedStrings(s ...string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// waitFor polls cond until it holds, for at most lifecycleWaitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(lifecycleWaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// v2Client pushes and pulls over /v2 with an ECR login token.
type v2Client struct {
	t        *testing.T
	base     string
	password string
}

func (c *v2Client) do(method, path, contentType string, body []byte) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth("AWS", c.password)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (c *v2Client) get(path string) (int, string) {
	status, body, _ := c.do(http.MethodGet, path, "", nil)
	return status, body
}

// pushImage pushes a one-layer image unique to tag and returns its digest.
func (c *v2Client) pushImage(repo, tag string) string {
	c.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]},"tag":"` + tag + `"}`)
	layer := []byte("layer of " + tag)
	for _, blob := range [][]byte{cfg, layer} {
		status, body, _ := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+sha256Digest(blob), "application/octet-stream", blob)
		if status != http.StatusCreated {
			c.t.Fatalf("push blob: %d %s", status, body)
		}
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256Digest(cfg), "size": len(cfg)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256Digest(layer), "size": len(layer)}},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	status, body, hdr := c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json", manifest)
	if status != http.StatusCreated {
		c.t.Fatalf("push manifest: %d %s", status, body)
	}
	return hdr.Get("Docker-Content-Digest")
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
