package ecrcli

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// stdlibZip writes an OSV zip with one record affecting every Go standard
// library (the pushed hello binary's), rated by a CVSS vector.
func stdlibZip(t *testing.T, id, vector string) string {
	t.Helper()
	rec := map[string]any{
		"id": id, "modified": "2026-05-06T07:08:09Z", "details": "fixture " + id,
		"aliases":  []string{"CVE-" + id},
		"severity": []any{map[string]any{"type": "CVSS_V3", "score": vector}},
		"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "Go", "name": "stdlib"},
			"ranges": []any{map[string]any{"type": "SEMVER", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": "99.0.0"}}}}}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(id + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func severityCounts(t *testing.T, findings map[string]any) map[string]any {
	t.Helper()
	c, _ := findings["findingSeverityCounts"].(map[string]any)
	return c
}

// TestScanSeedFlow is the seed's scanning flow with the AWS CLI against a
// real server: scanOnPush, push, `aws ecr wait image-scan-complete`,
// describe-image-scan-findings, describe-images' summary; then a continuous
// rescan after `berth vulndb import` into the running server's store.
func TestScanSeedFlow(t *testing.T) {
	awsBin := harness.RequireTool(t, "aws")
	images := chooseImageClient(t)
	s := startServer(t)
	aws := newAWSCLI(t, awsBin, s)

	// Vulnerability data imported while the server runs.
	succeed(t, "", os.Environ(), "", berthBin, "vulndb", "import", "--data-dir", s.DataDir,
		stdlibZip(t, "GO-2026-1001", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"))

	const repo = "scan/hello"
	aws.json(t, "ecr", "create-repository", "--repository-name", repo,
		"--image-scanning-configuration", "scanOnPush=true", "--region", region)
	password := aws.must(t, "ecr", "get-login-password", "--region", region).Stdout
	images.login(t, s.Addr(), password)
	appDir := harness.BuildHello(t, fmt.Sprintf("scan-%d", time.Now().UnixNano()))
	uri := s.Addr() + "/" + repo
	images.buildTagPush(t, appDir, uri+":latest", uri)

	aws.must(t, "ecr", "wait", "image-scan-complete", "--repository-name", repo, "--image-id", "imageTag=latest", "--region", region)
	out := aws.json(t, "ecr", "describe-image-scan-findings", "--repository-name", repo, "--image-id", "imageTag=latest", "--region", region)
	if st, _ := out["imageScanStatus"].(map[string]any); st["status"] != "COMPLETE" {
		t.Fatalf("imageScanStatus = %v", out["imageScanStatus"])
	}
	findings, _ := out["imageScanFindings"].(map[string]any)
	list, _ := findings["findings"].([]any)
	if len(list) != 1 {
		t.Fatalf("findings = %v", findings)
	}
	f := list[0].(map[string]any)
	if f["name"] != "CVE-GO-2026-1001" || f["severity"] != "HIGH" || f["description"] != "fixture GO-2026-1001" {
		t.Fatalf("finding = %v", f)
	}
	if c := severityCounts(t, findings); len(c) != 1 || c["HIGH"] != json.Number("1") {
		t.Fatalf("findingSeverityCounts = %v", c)
	}
	for _, k := range []string{"imageScanCompletedAt", "vulnerabilitySourceUpdatedAt"} {
		if findings[k] == nil {
			t.Errorf("imageScanFindings has no %s: %v", k, findings)
		}
	}

	described := aws.json(t, "ecr", "describe-images", "--repository-name", repo, "--region", region)
	details, _ := described["imageDetails"].([]any)
	if len(details) != 1 {
		t.Fatalf("imageDetails = %v", described)
	}
	d := details[0].(map[string]any)
	if st, _ := d["imageScanStatus"].(map[string]any); st["status"] != "COMPLETE" {
		t.Fatalf("describe-images imageScanStatus = %v", d["imageScanStatus"])
	}
	sum, _ := d["imageScanFindingsSummary"].(map[string]any)
	if c := severityCounts(t, sum); c["HIGH"] != json.Number("1") {
		t.Fatalf("imageScanFindingsSummary = %v", sum)
	}

	// Continuous scanning: new data changes the findings without a push.
	aws.json(t, "ecr", "put-registry-scanning-configuration", "--scan-type", "BASIC", "--rules",
		`[{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filter":"scan/*","filterType":"WILDCARD"}]}]`, "--region", region)
	succeed(t, "", os.Environ(), "", berthBin, "vulndb", "import", "--data-dir", s.DataDir,
		stdlibZip(t, "GO-2026-1002", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))
	for attempt := 0; ; attempt++ {
		out = aws.json(t, "ecr", "describe-image-scan-findings", "--repository-name", repo, "--image-id", "imageTag=latest", "--region", region)
		findings, _ = out["imageScanFindings"].(map[string]any)
		c := severityCounts(t, findings)
		if c["CRITICAL"] == json.Number("1") && c["HIGH"] == json.Number("1") {
			break
		}
		if attempt == 100 {
			t.Fatalf("findings after a continuous rescan: %v", findings)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
