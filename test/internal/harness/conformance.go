package harness

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Conformance is one run of the OCI distribution-spec conformance suite
// (the conformance binary that scripts/install-test-deps.sh pins).
type Conformance struct {
	Bin      string // the conformance binary
	Registry string // host:port, plain HTTP
	Username string
	Password string
	// WantPass, when set, is the exact number of checks that must pass;
	// requiring it catches checks that silently stop running. Zero asks only
	// that every check that ran passed.
	WantPass int
}

// RunConformance runs the suite against two repositories,
// conformance/repo1 and conformance/repo2, with every optional API the
// suite can test turned on, and requires every check to pass, none skipped
// or disabled. Cross-repository mounting must be enabled beforehand.
func RunConformance(t *testing.T, c Conformance) {
	t.Helper()
	results := t.TempDir()
	cmd := exec.CommandContext(t.Context(), c.Bin)
	// The suite reads ./oci-conformance.yaml when present; run it where there is none.
	cmd.Dir = t.TempDir()
	cmd.Env = append(EnvWithout("OCI_"),
		"OCI_REGISTRY="+c.Registry,
		"OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_USERNAME="+c.Username,
		"OCI_PASSWORD="+c.Password,
		"OCI_RESULTS_DIR="+results,
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_BLOBS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	// The suite exits 0 without running anything when its configuration fails
	// to load, so its exit status proves nothing: read its result summary.
	sum, err := parseConformanceSummary(stdout.Bytes())
	if err != nil {
		t.Fatalf("conformance: %v (exit: %v)\nstderr:\n%s\nstdout:\n%s", err, runErr,
			Truncate(stderr.Bytes(), 16<<10), Truncate(stdout.Bytes(), 16<<10))
	}
	t.Logf("OCI conformance: result %s, %s", sum.Result, sum)

	ok := sum.Result == "Pass" && sum.Counts["Pass"] > 0
	want := map[string]int{"FAIL": 0, "Error": 0, "Skip": 0, "Disabled": 0}
	if c.WantPass != 0 {
		want["Pass"] = c.WantPass
	}
	for k, v := range want {
		if sum.Counts[k] != v {
			ok = false
			t.Errorf("conformance %s: %d, want %d", k, sum.Counts[k], v)
		}
	}
	if !ok {
		reportFailures(t, filepath.Join(results, "junit.xml"), stdout.Bytes())
	}
	if ok && runErr != nil {
		t.Errorf("conformance passed every test but exited with %v\nstderr:\n%s", runErr, Truncate(stderr.Bytes(), 16<<10))
	}
}

// reportFailures fails the test once for every check that did not pass, by
// name with its message; the first few also with the exchanges the suite
// recorded (request, expected, got).
func reportFailures(t *testing.T, junitPath string, stdout []byte) {
	t.Helper()
	cases, err := readJUnit(junitPath)
	if err != nil {
		t.Errorf("reading the suite's junit.xml: %v", err)
	}
	const detailed = 25
	n := 0
	for _, c := range cases {
		if c.Status == "passed" {
			continue
		}
		n++
		msg := fmt.Sprintf("conformance test %s: %s\n%s", c.Status, c.Name, indent(Truncate([]byte(c.SystemOut), 4096)))
		if n <= detailed {
			msg += "\n  exchanges:\n" + indent(Truncate([]byte(c.SystemErr), 6144))
		}
		t.Error(msg)
	}
	if n == 0 {
		t.Errorf("no failing test found in junit.xml; the suite's report:\n%s", Truncate(stdout, 32<<10))
	}
}

// conformanceSummary is the suite's "OCI Conformance Result" block.
type conformanceSummary struct {
	Result string         // Pass, FAIL, ...
	Counts map[string]int // Disabled, Skip, Pass, FAIL, Error, Total
}

func (c conformanceSummary) String() string {
	var b strings.Builder
	for _, k := range conformanceCounters {
		fmt.Fprintf(&b, "%s=%d ", k, c.Counts[k])
	}
	return strings.TrimSpace(b.String())
}

var (
	conformanceCounters = []string{"Disabled", "Skip", "Pass", "FAIL", "Error", "Total"}
	conformanceResultRe = regexp.MustCompile(`^OCI Conformance Result: (\S+)\s*$`)
	conformanceCountRe  = regexp.MustCompile(`^\s+(\w+)\.*:\s+(\d+)\s*$`)
)

// parseConformanceSummary finds the result block the suite prints:
//
//	OCI Conformance Result: Pass
//	  Disabled......................:          0
//	  ...
//	  Total.........................:        974
func parseConformanceSummary(out []byte) (conformanceSummary, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var sum conformanceSummary
	found := false
	for sc.Scan() {
		line := sc.Text()
		if !found {
			if m := conformanceResultRe.FindStringSubmatch(line); m != nil {
				found = true
				sum = conformanceSummary{Result: m[1], Counts: map[string]int{}}
			}
			continue
		}
		m := conformanceCountRe.FindStringSubmatch(line)
		if m == nil {
			break
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return conformanceSummary{}, fmt.Errorf("counter %q: %w", line, err)
		}
		sum.Counts[m[1]] = n
	}
	if err := sc.Err(); err != nil {
		return conformanceSummary{}, fmt.Errorf("reading output: %w", err)
	}
	if !found {
		return conformanceSummary{}, errors.New(`no "OCI Conformance Result" in the output (did its configuration load?)`)
	}
	total := 0
	for _, k := range conformanceCounters {
		n, ok := sum.Counts[k]
		if !ok {
			return conformanceSummary{}, fmt.Errorf("result block lacks the %s counter", k)
		}
		if k != "Total" {
			total += n
		}
	}
	if total != sum.Counts["Total"] {
		return conformanceSummary{}, fmt.Errorf("counters add up to %d, Total says %d", total, sum.Counts["Total"])
	}
	return sum, nil
}

// junitCase is one leaf test of the suite's junit.xml.
type junitCase struct {
	Name      string `xml:"name,attr"`
	Status    string `xml:"status,attr"` // passed, skipped, failure, error
	SystemOut string `xml:"system-out"`  // the test's errors
	SystemErr string `xml:"system-err"`  // requests and responses it made
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

func readJUnit(path string) ([]junitCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseJUnit(b)
}

func parseJUnit(b []byte) ([]junitCase, error) {
	var doc struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing junit.xml: %w", err)
	}
	var cases []junitCase
	for _, s := range doc.Suites {
		cases = append(cases, s.Cases...)
	}
	return cases, nil
}
