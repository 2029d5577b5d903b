package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// TestOCIConformanceOnS3AndPostgres runs the OCI distribution-spec
// conformance suite against a node on S3 + PostgreSQL, with a second node
// of the same cluster running beside it, and requires every check to pass
// with none skipped. The same suite runs against the embedded default in
// test/e2e.
func TestOCIConformanceOnS3AndPostgres(t *testing.T) {
	bin := requireTool(t, "conformance")
	c := newCluster(t, 2)
	n := c.nodes[0]
	ctx := context.Background()
	// Cross-repository mounts are an ECR account setting (off by default).
	if _, err := c.ecrClient(c.nodes[1]).PutAccountSetting(ctx, &ecr.PutAccountSettingInput{
		Name: aws.String("BLOB_MOUNTING"), Value: aws.String("ENABLED"),
	}); err != nil {
		t.Fatalf("PutAccountSetting BLOB_MOUNTING=ENABLED: %v", err)
	}
	token := c.loginToken(t, c.nodes[1])
	results := t.TempDir()

	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Dir = t.TempDir() // the suite reads ./oci-conformance.yaml when present
	cmd.Env = append(envWithout("OCI_"),
		"OCI_ROOT_URL="+n.URL(),
		"OCI_NAMESPACE=conformance/repo1",
		"OCI_CROSSMOUNT_NAMESPACE=conformance/repo2",
		"OCI_REGISTRY="+n.Addr,
		"OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_USERNAME=AWS",
		"OCI_PASSWORD="+token,
		"OCI_RESULTS_DIR="+results,
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_BLOBS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	// The suite exits 0 without running anything when its configuration
	// fails to load: read its summary rather than trusting the exit status.
	result, counts, err := parseConformanceSummary(stdout.Bytes())
	if err != nil {
		t.Fatalf("conformance: %v (exit: %v)\nstderr:\n%s\nstdout:\n%s", err, runErr,
			truncate(stderr.Bytes()), truncate(tail(stdout.Bytes(), 16<<10)))
	}
	t.Logf("OCI conformance on S3 + PostgreSQL: result %s, %v", result, counts)
	ok := result == "Pass" && counts["Pass"] > 0 && counts["Pass"] == counts["Total"]
	if counts["Disabled"] != 0 {
		ok = false
		t.Errorf("conformance Disabled: %d, want 0", counts["Disabled"])
	}
	for _, k := range []string{"FAIL", "Error", "Skip"} {
		if counts[k] != 0 {
			ok = false
			t.Errorf("conformance %s: %d, want 0", k, counts[k])
		}
	}
	if !ok {
		cases, err := readJUnit(filepath.Join(results, "junit.xml"))
		if err != nil {
			t.Errorf("reading junit.xml: %v", err)
		}
		shown := 0
		for _, tc := range cases {
			if tc.Status == "passed" || shown >= 25 {
				continue
			}
			shown++
			t.Errorf("conformance %s: %s\n%s\n  exchanges:\n%s", tc.Status, tc.Name, tc.SystemOut, truncate([]byte(tc.SystemErr)))
		}
	}
	if ok && runErr != nil {
		t.Errorf("conformance passed every test but exited with %v", runErr)
	}
}

// requireTool finds an executable on PATH or in the Go bin directory.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(goBin(), name)
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	missingTool(t, "%s not found on PATH or in the Go bin directory (scripts/install-test-deps.sh)", name)
	return ""
}

func envWithout(prefix string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

var (
	conformanceResultRe = regexp.MustCompile(`^OCI Conformance Result: (\S+)\s*$`)
	conformanceCountRe  = regexp.MustCompile(`^\s+(\w+)\.*:\s+(\d+)\s*$`)
)

// parseConformanceSummary reads the suite's result block:
//
//	OCI Conformance Result: Pass
//	  Disabled......................:          0
//	  ...
//	  Total.........................:        986
func parseConformanceSummary(out []byte) (string, map[string]int, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	result, counts := "", map[string]int{}
	for sc.Scan() {
		line := sc.Text()
		if result == "" {
			if m := conformanceResultRe.FindStringSubmatch(line); m != nil {
				result = m[1]
			}
			continue
		}
		m := conformanceCountRe.FindStringSubmatch(line)
		if m == nil {
			break
		}
		v, err := strconv.Atoi(m[2])
		if err != nil {
			return "", nil, fmt.Errorf("counter %q: %w", line, err)
		}
		counts[m[1]] = v
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	if result == "" {
		return "", nil, fmt.Errorf(`no "OCI Conformance Result" in the output`)
	}
	if _, ok := counts["Total"]; !ok {
		return "", nil, fmt.Errorf("result block lacks Total")
	}
	return result, counts, nil
}

type junitCase struct {
	Name      string `xml:"name,attr"`
	Status    string `xml:"status,attr"`
	SystemOut string `xml:"system-out"`
	SystemErr string `xml:"system-err"`
}

func readJUnit(path string) ([]junitCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse junit.xml: %w", err)
	}
	var cases []junitCase
	for _, s := range doc.Suites {
		cases = append(cases, s.Cases...)
	}
	return cases, nil
}
