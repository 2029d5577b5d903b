package harness

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseConformanceSummary(t *testing.T) {
	const pass = `Test results
OCI Conformance Test: Pass
  OCI Conformance Test/ping: Pass

Configuration:
  registry: 127.0.0.1:5000

OCI Conformance Result: Pass
  Disabled......................:          0
  Skip..........................:          0
  Pass..........................:        974
  FAIL..........................:          0
  Error.........................:          0
  Total.........................:        974

API conformance:
  Tag listing...................:       Pass
`
	cases := []struct {
		name    string
		out     string
		result  string
		pass    int
		fail    int
		wantErr string
	}{
		{name: "pass", out: pass, result: "Pass", pass: 974},
		{name: "failures", out: summaryBlock("FAIL", 0, 1, 970, 3, 0, 974), result: "FAIL", pass: 970, fail: 3},
		{name: "config failed to load: no output", out: "", wantErr: "no \"OCI Conformance Result\""},
		{name: "no summary", out: "Test results\nOCI Conformance Test: Pass\n", wantErr: "no \"OCI Conformance Result\""},
		{name: "missing counter", out: strings.Replace(pass, "  Skip..........................:          0\n", "", 1), wantErr: "lacks the Skip counter"},
		{name: "inconsistent total", out: strings.Replace(pass, "Total.........................:        974", "Total.........................:        975", 1), wantErr: "add up to 974"},
		{name: "truncated block", out: "OCI Conformance Result: Pass\n  Disabled......................:          0\n", wantErr: "lacks the"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := parseConformanceSummary([]byte(tc.out))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Result != tc.result || sum.Counts["Pass"] != tc.pass || sum.Counts["FAIL"] != tc.fail {
				t.Errorf("got %s %v, want %s Pass=%d FAIL=%d", sum.Result, sum, tc.result, tc.pass, tc.fail)
			}
		})
	}
}

// summaryBlock renders a result block the way the suite prints it.
func summaryBlock(result string, disabled, skip, pass, fail, errs, total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Configuration:\n  registry: x\n\nOCI Conformance Result: %s\n", result)
	for _, c := range []struct {
		name string
		n    int
	}{{"Disabled", disabled}, {"Skip", skip}, {"Pass", pass}, {"FAIL", fail}, {"Error", errs}, {"Total", total}} {
		fmt.Fprintf(&b, "  %s%s: %10d\n", c.name, strings.Repeat(".", 30-len(c.name)), c.n)
	}
	b.WriteString("\nAPI conformance:\n  Tag listing...................:       Pass\n")
	return b.String()
}

func TestParseJUnit(t *testing.T) {
	const doc = `<testsuites time="2.4" tests="3" failures="1" skipped="1">
  <testsuite name="OCI Conformance Test" tests="3" failures="1" errors="0" skipped="1" time="2.4">
    <properties><property name="Config" value="x"></property></properties>
    <testcase name="OCI Conformance Test/ping" classname="" time="0.01" status="passed"><system-err>ok</system-err></testcase>
    <testcase name="OCI Conformance Test/empty/referrers" classname="" time="0.01" status="failure">
      <system-out>unexpected status code, expected one of [200], received 404</system-out>
      <system-err>~~~ REQUEST ~~~&#xA;Method: GET</system-err>
    </testcase>
    <testcase name="OCI Conformance Test/x" classname="" status="skipped"></testcase>
  </testsuite>
</testsuites>`
	cases, err := parseJUnit([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 3 {
		t.Fatalf("%d cases, want 3", len(cases))
	}
	c := cases[1]
	if c.Name != "OCI Conformance Test/empty/referrers" || c.Status != "failure" ||
		!strings.Contains(c.SystemOut, "received 404") || !strings.Contains(c.SystemErr, "Method: GET") {
		t.Errorf("failing case parsed as %+v", c)
	}
	if _, err := parseJUnit([]byte("<testsuites><testsuite>")); err == nil {
		t.Error("truncated junit.xml parsed without error")
	}
}
