package ecrapi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/scan"
)

// pushV1Image stores a go-containerregistry image through the core.
func (e *testEnv) pushV1Image(t *testing.T, repo, tag string, img v1.Image) digest.Digest {
	t.Helper()
	ctx := context.Background()
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Core.PutBlob(ctx, repo, digest.FromBytes(cfg), bytes.NewReader(cfg)); err != nil {
		t.Fatalf("PutBlob config: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Core.PutBlob(ctx, repo, digest.FromBytes(b), bytes.NewReader(b)); err != nil {
			t.Fatalf("PutBlob layer: %v", err)
		}
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Core.PutManifest(ctx, repo, tag, string(mt), raw, nil)
	if err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	return res.Digest
}

func scanFixtureImage(t *testing.T) v1.Image {
	t.Helper()
	files := map[string]string{
		"etc/os-release":      "ID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status": "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\n\nPackage: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u4\n\n",
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range []string{"etc/os-release", "var/lib/dpkg/status"} {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// osvZip writes OSV records (id, package, fixed version, CVSS vector) as a zip.
func osvZip(t *testing.T, recs ...[4]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, r := range recs {
		rec := map[string]any{"id": r[0], "modified": "2026-03-04T05:06:07Z", "details": "about " + r[0],
			"severity": []any{map[string]any{"type": "CVSS_V3", "score": r[3]}},
			"affected": []any{map[string]any{"package": map[string]any{"ecosystem": "Debian:12", "name": r[1]},
				"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": r[2]}}}}}}}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(r[0] + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	vecCritical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	vecHigh     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
	vecMedium   = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"
)

// TestScanFlow is the seed flow on the real core, stores and scan workers
// through the AWS SDK: scan on push, the image-scan-complete waiter,
// findings with pagination, DescribeImages' summary, the StartImageScan
// quota, registry scanning rules and a continuous rescan after an import.
func TestScanFlow(t *testing.T) {
	env := newTestEnv(t)
	ctx := t.Context()
	c := env.Client
	if _, err := scan.Import(ctx, env.Meta, osvZip(t,
		[4]string{"CVE-2026-0001", "openssl", "3.0.13-1~deb12u1", vecCritical},
		[4]string{"CVE-2026-0002", "openssl", "3.0.9-1", vecHigh}, // fixed in the image's version
		[4]string{"CVE-2026-0003", "glibc", "2.36-9+deb12u9", vecHigh},
	)); err != nil {
		t.Fatalf("import: %v", err)
	}

	_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("scan/app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	dgst := env.pushV1Image(t, "scan/app", "v1", scanFixtureImage(t))

	// Before the worker runs, the push's scan is queued and in progress.
	id := &types.ImageIdentifier{ImageTag: aws.String("v1")}
	pre, err := c.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("scan/app"), ImageId: id})
	if err != nil || pre.ImageScanStatus.Status != types.ScanStatusInProgress || pre.ImageScanFindings != nil {
		t.Fatalf("findings before the scan: %+v, %v", pre, err)
	}
	// An image pushed where nothing scans on push has no scan.
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other/app")}); err != nil {
		t.Fatal(err)
	}
	env.pushV1Image(t, "other/app", "v1", scanFixtureImage(t))
	_, err = c.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("other/app"), ImageId: id})
	if _, ok := asAPIError[*types.ScanNotFoundException](err); !ok {
		t.Fatalf("findings of an unscanned image: %v", err)
	}

	sc := scan.New(env.Core, env.Meta, env.Blobs, scan.Config{Poll: 20 * time.Millisecond}, nil)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	in := &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("scan/app"), ImageId: id}
	if err := ecr.NewImageScanCompleteWaiter(c, func(o *ecr.ImageScanCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, in, 2*time.Minute); err != nil {
		t.Fatalf("image-scan-complete waiter: %v", err)
	}
	out, err := c.DescribeImageScanFindings(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	f := out.ImageScanFindings
	if out.ImageScanStatus.Status != types.ScanStatusComplete || f == nil || f.ImageScanCompletedAt == nil ||
		f.VulnerabilitySourceUpdatedAt == nil || !f.VulnerabilitySourceUpdatedAt.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Fatalf("findings = %+v / %+v", out.ImageScanStatus, f)
	}
	if len(f.Findings) != 2 || f.FindingSeverityCounts["CRITICAL"] != 1 || f.FindingSeverityCounts["HIGH"] != 1 || len(f.FindingSeverityCounts) != 2 {
		t.Fatalf("findings = %+v counts %v", f.Findings, f.FindingSeverityCounts)
	}
	first := f.Findings[0]
	if aws.ToString(first.Name) != "CVE-2026-0001" || first.Severity != types.FindingSeverityCritical || aws.ToString(first.Description) != "about CVE-2026-0001" {
		t.Fatalf("first finding = %+v", first)
	}
	attrs := map[string]string{}
	for _, a := range first.Attributes {
		attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if attrs["package_name"] != "openssl" || attrs["package_version"] != "3.0.11-1~deb12u2" || attrs["fixed_version"] != "3.0.13-1~deb12u1" {
		t.Fatalf("attributes = %v", attrs)
	}

	// Pagination: one finding per page.
	var names []string
	var token *string
	for {
		page, err := c.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("scan/app"),
			ImageId: id, MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.ImageScanFindings.Findings {
			names = append(names, aws.ToString(f.Name))
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	if len(names) != 2 || names[0] != "CVE-2026-0001" || names[1] != "CVE-2026-0003" {
		t.Fatalf("paged names = %v", names)
	}

	// DescribeImages reports the status and the summary.
	di, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("scan/app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(di.ImageDetails) != 1 || di.ImageDetails[0].ImageScanStatus == nil || di.ImageDetails[0].ImageScanStatus.Status != types.ScanStatusComplete ||
		di.ImageDetails[0].ImageScanFindingsSummary == nil || di.ImageDetails[0].ImageScanFindingsSummary.FindingSeverityCounts["CRITICAL"] != 1 {
		t.Fatalf("DescribeImages = %+v", di.ImageDetails)
	}

	// StartImageScan: once per image per day.
	st, err := c.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("scan/app"), ImageId: &types.ImageIdentifier{ImageDigest: aws.String(dgst.String())}})
	if err != nil || st.ImageScanStatus.Status != types.ScanStatusInProgress || aws.ToString(st.ImageId.ImageDigest) != dgst.String() {
		t.Fatalf("StartImageScan = %+v, %v", st, err)
	}
	_, err = c.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("scan/app"), ImageId: id})
	if _, ok := asAPIError[*types.LimitExceededException](err); !ok {
		t.Fatalf("second StartImageScan: %v", err)
	}
	if err := ecr.NewImageScanCompleteWaiter(c, func(o *ecr.ImageScanCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, in, 2*time.Minute); err != nil {
		t.Fatalf("waiter after StartImageScan: %v", err)
	}
	_, err = c.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("scan/app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}})
	if _, ok := asAPIError[*types.ImageNotFoundException](err); !ok {
		t.Fatalf("StartImageScan of a missing image: %v", err)
	}

	// Registry scanning configuration: continuous scanning of scan/*.
	_, err = c.PutRegistryScanningConfiguration(ctx, &ecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic,
		Rules: []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyContinuousScan,
			RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("scan/*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}}})
	if err != nil {
		t.Fatal(err)
	}
	gc, err := c.GetRegistryScanningConfiguration(ctx, &ecr.GetRegistryScanningConfigurationInput{})
	if err != nil || gc.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(gc.ScanningConfiguration.Rules) != 1 {
		t.Fatalf("GetRegistryScanningConfiguration = %+v, %v", gc, err)
	}
	bg, err := c.BatchGetRepositoryScanningConfiguration(ctx, &ecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"scan/app", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bg.ScanningConfigurations) != 1 || bg.ScanningConfigurations[0].ScanFrequency != types.ScanFrequencyContinuousScan ||
		!bg.ScanningConfigurations[0].ScanOnPush || len(bg.Failures) != 1 || bg.Failures[0].FailureCode != types.ScanningConfigurationFailureCodeRepositoryNotFound {
		t.Fatalf("BatchGetRepositoryScanningConfiguration = %+v", bg)
	}

	// Continuous scan: new data changes the findings without a push.
	if _, err := scan.Import(ctx, env.Meta, osvZip(t, [4]string{"CVE-2026-0004", "openssl", "3.0.15-1", vecMedium})); err != nil {
		t.Fatal(err)
	}
	if err := sc.RescanIfUpdated(ctx); err != nil {
		t.Fatal(err)
	}
	out, err = c.DescribeImageScanFindings(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.ImageScanFindings.Findings); n != 3 || out.ImageScanFindings.FindingSeverityCounts["MEDIUM"] != 1 {
		t.Fatalf("after continuous rescan: %+v", out.ImageScanFindings)
	}
	events, err := env.Meta.ListScanEvents(ctx, 0, 0)
	if err != nil || len(events) < 3 {
		t.Fatalf("scan events = %+v, %v", events, err)
	}
}

// TestScanIndexChildren checks that scanning a multi-arch index scans each
// child image.
func TestScanIndexChildren(t *testing.T) {
	env := newTestEnv(t)
	ctx := t.Context()
	c := env.Client
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("multi/app")}); err != nil {
		t.Fatal(err)
	}
	// Children pushed before scanning is on: only the index queues them.
	img := scanFixtureImage(t)
	amd := env.pushV1Image(t, "multi/app", "amd64", img)
	arm := env.pushV1Image(t, "multi/app", "arm64", mutateArch(t, img))
	if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("multi/app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
		t.Fatal(err)
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},`+
		`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux"}}]}`,
		amd, manifestSize(t, img), arm, manifestSize(t, mutateArch(t, img)))
	if _, err := env.Core.PutManifest(ctx, "multi/app", "latest", "application/vnd.oci.image.index.v1+json", []byte(index), nil); err != nil {
		t.Fatalf("push index: %v", err)
	}
	sc := scan.New(env.Core, env.Meta, env.Blobs, scan.Config{}, nil)
	for {
		did, err := sc.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	for _, d := range []digest.Digest{amd, arm} {
		out, err := c.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("multi/app"),
			ImageId: &types.ImageIdentifier{ImageDigest: aws.String(d.String())}})
		if err != nil || out.ImageScanStatus.Status != types.ScanStatusComplete {
			t.Fatalf("child %s: %+v, %v", d, out, err)
		}
	}
}

func mutateArch(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func manifestSize(t *testing.T, img v1.Image) int {
	t.Helper()
	b, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}
