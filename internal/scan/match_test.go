package scan

import (
	"testing"
)

func rng(events ...OSVEvent) OSVRange { return OSVRange{Type: "ECOSYSTEM", Events: events} }

func TestAffects(t *testing.T) {
	tests := []struct {
		name      string
		pkg       Package
		affected  OSVAffected
		want      bool
		wantFixed string
	}{
		{"debian tilde sorts before release", Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u2"},
			OSVAffected{Package: OSVPackage{"Debian:12", "openssl"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "3.0.11-1"})}}, true, "3.0.11-1"},
		{"debian fixed", Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1"},
			OSVAffected{Package: OSVPackage{"Debian:12", "openssl"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "3.0.11-1"})}}, false, ""},
		{"debian epoch beats version", Package{Ecosystem: "Debian:12", Name: "zlib", Version: "1:1.2.13.dfsg-1"},
			OSVAffected{Package: OSVPackage{"Debian:12", "zlib"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "1.3-1"})}}, false, ""},
		{"other release", Package{Ecosystem: "Debian:11", Name: "openssl", Version: "1.0"},
			OSVAffected{Package: OSVPackage{"Debian:12", "openssl"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"})}}, false, ""},
		{"source name", Package{Ecosystem: "Debian:12", Name: "libc6", SourceName: "glibc", Version: "2.36-9"},
			OSVAffected{Package: OSVPackage{"Debian:12", "glibc"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "2.36-10"})}}, true, "2.36-10"},
		{"alpine revision", Package{Ecosystem: "Alpine:v3.19", Name: "musl", Version: "1.2.4-r10"},
			OSVAffected{Package: OSVPackage{"Alpine:v3.19", "musl"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "1.2.4-r9"})}}, false, ""},
		{"alpine revision numeric", Package{Ecosystem: "Alpine:v3.19", Name: "musl", Version: "1.2.4-r9"},
			OSVAffected{Package: OSVPackage{"Alpine:v3.19", "musl"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "1.2.4-r10"})}}, true, "1.2.4-r10"},
		{"red hat release", Package{Ecosystem: "Red Hat:enterprise_linux:9::baseos", Name: "bash", Version: "0:5.1.8-6.el9"},
			OSVAffected{Package: OSVPackage{"Red Hat:enterprise_linux:9::baseos", "bash"}, Ranges: []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: "0:5.1.8-9.el9"})}}, true, "0:5.1.8-9.el9"},
		{"semver before introduced", Package{Ecosystem: "Go", Name: "golang.org/x/net", Version: "0.1.0"},
			OSVAffected{Package: OSVPackage{"Go", "golang.org/x/net"}, Ranges: []OSVRange{{Type: "SEMVER", Events: []OSVEvent{{Introduced: "0.5.0"}, {Fixed: "0.7.0"}}}}}, false, ""},
		{"semver inside", Package{Ecosystem: "Go", Name: "golang.org/x/net", Version: "0.6.1"},
			OSVAffected{Package: OSVPackage{"Go", "golang.org/x/net"}, Ranges: []OSVRange{{Type: "SEMVER", Events: []OSVEvent{{Introduced: "0.5.0"}, {Fixed: "0.7.0"}}}}}, true, "0.7.0"},
		{"last affected", Package{Ecosystem: "Go", Name: "m", Version: "1.2.4"},
			OSVAffected{Package: OSVPackage{"Go", "m"}, Ranges: []OSVRange{{Type: "SEMVER", Events: []OSVEvent{{Introduced: "0"}, {LastAffected: "1.2.3"}}}}}, false, ""},
		{"listed version", Package{Ecosystem: "Go", Name: "m", Version: "1.0.0"},
			OSVAffected{Package: OSVPackage{"Go", "m"}, Versions: []string{"1.0.0"}}, true, ""},
		{"git ranges ignored", Package{Ecosystem: "Go", Name: "m", Version: "1.0.0"},
			OSVAffected{Package: OSVPackage{"Go", "m"}, Ranges: []OSVRange{{Type: "GIT", Events: []OSVEvent{{Introduced: "0"}}}}}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &OSV{ID: "X", Affected: []OSVAffected{tc.affected}}
			got, fixed, _ := Affects(v, tc.pkg)
			if got != tc.want || fixed != tc.wantFixed {
				t.Fatalf("Affects = %v, %q; want %v, %q", got, fixed, tc.want, tc.wantFixed)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		name string
		v    OSV
		af   *OSVAffected
		want string
	}{
		{"cvss3 critical", OSV{Severity: []OSVSeverity{{Type: "CVSS_V3", Score: critical31}}}, nil, SeverityCritical},
		{"cvss3 high", OSV{Severity: []OSVSeverity{{Type: "CVSS_V3", Score: high31}}}, nil, SeverityHigh},
		{"cvss3.0", OSV{Severity: []OSVSeverity{{Type: "CVSS_V3", Score: "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"}}}, nil, SeverityMedium},
		{"cvss2", OSV{Severity: []OSVSeverity{{Type: "CVSS_V2", Score: "AV:N/AC:L/Au:N/C:P/I:N/A:N"}}}, nil, SeverityMedium},
		{"cvss4", OSV{Severity: []OSVSeverity{{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}}, nil, SeverityCritical},
		{"highest vector wins", OSV{Severity: []OSVSeverity{{Type: "CVSS_V3", Score: high31}, {Type: "CVSS_V3", Score: critical31}}}, nil, SeverityCritical},
		{"bad vector falls through", OSV{Severity: []OSVSeverity{{Type: "CVSS_V3", Score: "nonsense"}}}, nil, SeverityUndefined},
		{"ubuntu rating", OSV{Severity: []OSVSeverity{{Type: "Ubuntu", Score: "medium"}}}, nil, SeverityMedium},
		{"debian urgency", OSV{}, &OSVAffected{EcosystemSpecific: map[string]any{"urgency": "low"}}, SeverityLow},
		{"red hat severity", OSV{}, &OSVAffected{EcosystemSpecific: map[string]any{"severity": "Important"}}, SeverityHigh},
		{"github rating", OSV{DatabaseSpecific: map[string]any{"severity": "MODERATE"}}, nil, SeverityMedium},
		{"nothing", OSV{}, nil, SeverityUndefined},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _, _ := Severity(&tc.v, tc.af); got != tc.want {
				t.Fatalf("Severity = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCVEName(t *testing.T) {
	tests := []struct {
		v    OSV
		want string
	}{
		{OSV{ID: "CVE-1"}, "CVE-1"},
		{OSV{ID: "GO-1", Aliases: []string{"GHSA-x", "CVE-2"}}, "CVE-2"},
		{OSV{ID: "DEBIAN-CVE-3", Upstream: []string{"CVE-3"}}, "CVE-3"},
		{OSV{ID: "DSA-4"}, "DSA-4"},
	}
	for _, tc := range tests {
		if got := tc.v.CVEName(); got != tc.want {
			t.Errorf("CVEName(%+v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// FuzzParseOSV checks that untrusted records never panic the parser or the
// matcher.
func FuzzParseOSV(f *testing.F) {
	for _, r := range fixtureRecords() {
		f.Add(r)
	}
	f.Add([]byte(`{"id":"X","affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"::"}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseOSV(b)
		if err != nil {
			return
		}
		for _, a := range v.Affected {
			p := Package{Ecosystem: a.Package.Ecosystem, Name: a.Package.Name, Version: "1.0-1"}
			MatchPackage(p, []*OSV{v})
		}
		Severity(v, nil)
	})
}
