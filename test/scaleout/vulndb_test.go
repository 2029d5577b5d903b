package scaleout

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-registry/berth/test/internal/harness"
)

// The metadata tools run against the cluster's PostgreSQL with only its URL
// (no master key: they seal nothing): `berth vulndb import` loads OSV data
// that every node then scans with, and `berth usage` reports what the nodes
// stored.
func TestMetadataToolsOnPostgres(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]

	out := berthTool(t, "vulndb", "import", "--metadata", c.dsn, alpineOSVZip(t, "ALPINE-2026-0001", "musl", "1.2.5-r0"))
	if !strings.Contains(out, "imported 1 records") {
		t.Fatalf("vulndb import: %s", out)
	}

	const repo = "so/scanned"
	ctx := context.Background()
	if _, err := c.ecrClient(a).CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
	}); err != nil {
		t.Fatal(err)
	}
	img := alpineImage(t)
	newReg(t, c.loginToken(t, a)).pushImage(a, repo, "v1", img)

	// The scan runs on whichever node takes it; the findings are read on the other.
	var findings *ecr.DescribeImageScanFindingsOutput
	deadline := time.Now().Add(time.Minute)
	for {
		var err error
		findings, err = c.ecrClient(b).DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{
			RepositoryName: aws.String(repo), ImageId: &ecrtypes.ImageIdentifier{ImageTag: aws.String("v1")},
		})
		if err == nil && findings.ImageScanStatus != nil && findings.ImageScanStatus.Status == ecrtypes.ScanStatusComplete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan not complete after a minute: %+v %v", findings, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := findings.ImageScanFindings.Findings
	if len(got) != 1 || aws.ToString(got[0].Name) != "CVE-ALPINE-2026-0001" {
		t.Fatalf("findings = %+v, want the imported record for musl", got)
	}

	usage := berthTool(t, "usage", "--metadata", c.dsn, "--blob-store", c.blobURL, "--log-level", "error")
	if !strings.Contains(usage, repo) {
		t.Fatalf("berth usage does not list %s:\n%s", repo, usage)
	}
}

// berthTool runs a berth command with the S3 server's credentials and
// nothing of the caller's BERTH_ or AWS_ settings (no master key among
// them), and returns its standard output.
func berthTool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(env.bin, args...)
	cmd.Env = append(harness.EnvWithout("BERTH_", "AWS_"), env.s3.awsEnv()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// alpineOSVZip writes one OSV record for an Alpine 3.19 package, fixed in
// version fixed, as an OSV zip.
func alpineOSVZip(t *testing.T, id, pkg, fixed string) string {
	t.Helper()
	rec, err := json.Marshal(map[string]any{
		"id": id, "modified": "2026-05-06T07:08:09Z", "details": "fixture " + id, "aliases": []string{"CVE-" + id},
		"severity": []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
		"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "Alpine:v3.19", "name": pkg},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": fixed}}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(id + ".json")
	if err == nil {
		_, err = w.Write(rec)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// alpineImage is an Alpine 3.19 image with musl 1.2.4-r2 installed.
func alpineImage(t *testing.T) image {
	t.Helper()
	files := []struct{ name, body string }{
		{"etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"},
		{"lib/apk/db/installed", "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nT:the musl c library\n\n"},
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + sha(layer.Bytes()) + `"]}}`)
	img := image{blobs: map[string][]byte{sha(cfg): cfg, sha(layer.Bytes()): layer.Bytes()}}
	img.manifest = manifest(sha(cfg), len(cfg), map[string]int{sha(layer.Bytes()): layer.Len()})
	img.digest = sha(img.manifest)
	return img
}
