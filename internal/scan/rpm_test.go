package scan

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// rpmdbFixture is a real rpm database (sqlite backend, as on RHEL, Rocky
// and AlmaLinux 9) built by testdata/rpm/gen.sh. It holds
// openssl-libs 1:3.0.7-24.el9 and bash 5.1.8-9.el9.
const rpmdbFixture = "testdata/rpm/rpmdb.sqlite"

// rpmImage is an image of a Red Hat-family distribution: its os-release
// and the fixture rpm database where dnf keeps it.
func rpmImage(t testing.TB, osRelease string) v1.Image {
	t.Helper()
	db, err := os.ReadFile(rpmdbFixture)
	if err != nil {
		t.Fatal(err)
	}
	return newImage(t, tarLayer(t, map[string][]byte{
		"etc/os-release":           []byte(osRelease),
		"var/lib/rpm/rpmdb.sqlite": db,
	}))
}

// rpmDistros are the fixture distributions with the OSV ecosystem their
// packages belong to and the CVE id their fixture advisory carries.
var rpmDistros = []struct {
	name      string
	osRelease string
	os        string
	ecosystem string
	// previous is the ecosystem of the release before, whose records
	// must not match.
	previous string
	advisory string
	cve      string
}{
	{
		name:      "AlmaLinux",
		osRelease: "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
		os:        "almalinux 9.4",
		ecosystem: "AlmaLinux:9",
		previous:  "AlmaLinux:8",
		advisory:  "ALSA-2026:0001",
		cve:       "CVE-2026-1001",
	},
	{
		name:      "Rocky",
		osRelease: "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n",
		os:        "rocky 9.3",
		ecosystem: "Rocky Linux:9",
		previous:  "Rocky Linux:8",
		advisory:  "RLSA-2026:0001",
		cve:       "CVE-2026-2001",
	},
	{
		name:      "RHEL",
		osRelease: "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nCPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n",
		os:        "rhel 9.4",
		ecosystem: "Red Hat:enterprise_linux:9::baseos",
		previous:  "Red Hat:enterprise_linux:8::baseos",
		advisory:  "RHSA-2026:0001",
		cve:       "CVE-2026-3001",
	},
}

// rpmRecords are, per distribution: an advisory that affects the installed
// openssl-libs (HIGH, fixed in 1:3.0.7-27.el9), and advisories that must
// not match: bash fixed exactly at its installed version (written with the
// explicit 0 epoch OSV data uses), openssl-libs fixed at a higher version
// of a lower epoch, and openssl-libs in the previous release.
func rpmRecords() [][]byte {
	var recs [][]byte
	for i, d := range rpmDistros {
		recs = append(recs,
			osvRecord(d.advisory, d.ecosystem, "openssl-libs", "0", "1:3.0.7-27.el9", map[string]any{
				"upstream": []string{d.cve},
				"severity": []any{map[string]any{"type": "CVSS_V3", "score": high31}},
			}),
			osvRecord(d.advisory+"-bash", d.ecosystem, "bash", "0", "0:5.1.8-9.el9", map[string]any{
				"upstream": []string{fmt.Sprintf("CVE-2026-900%d", i)},
				"severity": []any{map[string]any{"type": "CVSS_V3", "score": critical31}},
			}),
			osvRecord(d.advisory+"-epoch", d.ecosystem, "openssl-libs", "0", "3.0.7-30.el9", map[string]any{
				"severity": []any{map[string]any{"type": "CVSS_V3", "score": critical31}},
			}),
			osvRecord(d.advisory+"-el8", d.previous, "openssl-libs", "0", "1:3.0.7-99.el8", map[string]any{
				"severity": []any{map[string]any{"type": "CVSS_V3", "score": critical31}},
			}),
		)
	}
	return recs
}

// TestScanRPM extracts the real rpm database from images of each Red
// Hat-family distribution and matches it against imported OSV records.
func TestScanRPM(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	recs := rpmRecords()
	writeZip(t, zipPath, recs...)
	st, err := Import(ctx, store, zipPath)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if st.Records != len(recs) || st.Skipped != 0 {
		t.Fatalf("Import stats = %+v, want %d records", st, len(recs))
	}

	for _, d := range rpmDistros {
		t.Run(d.name, func(t *testing.T) {
			ex, err := Extract(ctx, rpmImage(t, d.osRelease), ExtractConfig{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if ex.OS != d.os {
				t.Errorf("OS = %q, want %q", ex.OS, d.os)
			}
			wantPkgs := []Package{
				{Ecosystem: d.ecosystem, Name: "bash", Version: "5.1.8-9.el9", Location: "var/lib/rpm/rpmdb.sqlite"},
				{Ecosystem: d.ecosystem, Name: "openssl-libs", Version: "1:3.0.7-24.el9", Location: "var/lib/rpm/rpmdb.sqlite"},
			}
			gotPkgs := slices.Clone(ex.Packages)
			slices.SortFunc(gotPkgs, func(a, b Package) int {
				if a.Name < b.Name {
					return -1
				}
				if a.Name > b.Name {
					return 1
				}
				return 0
			})
			if !slices.Equal(gotPkgs, wantPkgs) {
				t.Fatalf("packages = %+v, want %+v", gotPkgs, wantPkgs)
			}

			fs, err := MatchAll(ctx, store, ex.Packages)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := findingNames(fs), []string{d.cve + "/HIGH"}; !slices.Equal(got, want) {
				t.Fatalf("findings = %v, want %v", got, want)
			}
			f := fs[0]
			if attr(f, "package_name") != "openssl-libs" || attr(f, "package_version") != "1:3.0.7-24.el9" ||
				attr(f, "fixed_version") != "1:3.0.7-27.el9" || attr(f, "CVSS3_SCORE") != "7.5" ||
				f.Description != "Details of "+d.advisory+"." {
				t.Errorf("openssl-libs finding = %+v", f)
			}
		})
	}
}

func TestRPMEcosystem(t *testing.T) {
	tests := []struct {
		name string
		eco  string
		rel  map[string]string
		want string
	}{
		{"rocky major release", "Rocky Linux", map[string]string{"ID": "rocky", "VERSION_ID": "9.3"}, "Rocky Linux:9"},
		{"rocky bare major", "Rocky Linux", map[string]string{"ID": "rocky", "VERSION_ID": "8"}, "Rocky Linux:8"},
		{"rocky without version", "Rocky Linux", map[string]string{"ID": "rocky"}, "Rocky Linux"},
		{"red hat cpe", "Red Hat", map[string]string{"ID": "rhel", "CPE_NAME": "cpe:/o:redhat:enterprise_linux:9::baseos"}, "Red Hat:enterprise_linux:9::baseos"},
		{"red hat foreign cpe", "Red Hat", map[string]string{"ID": "rhel", "CPE_NAME": "cpe:/o:example:os:9"}, "Red Hat"},
		{"red hat without cpe", "Red Hat", nil, "Red Hat"},
		{"alma untouched", "AlmaLinux:9", map[string]string{"ID": "almalinux", "VERSION_ID": "9.4"}, "AlmaLinux:9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rpmEcosystem(tc.eco, tc.rel); got != tc.want {
				t.Fatalf("rpmEcosystem(%q) = %q, want %q", tc.eco, got, tc.want)
			}
		})
	}
}

// TestAffectsRPM pins the rpm version ordering the matcher relies on.
func TestAffectsRPM(t *testing.T) {
	const eco = "Rocky Linux:9"
	tests := []struct {
		name      string
		version   string
		fixed     string
		want      bool
		wantFixed string
	}{
		{"release below fix", "3.0.7-24.el9", "3.0.7-27.el9", true, "3.0.7-27.el9"},
		{"numeric release order", "3.0.7-9.el9", "3.0.7-10.el9", true, "3.0.7-10.el9"},
		{"at fix with explicit zero epoch", "5.1.8-9.el9", "0:5.1.8-9.el9", false, ""},
		{"epoch beats version", "1:3.0.7-24.el9", "3.0.7-30.el9", false, ""},
		{"same epoch compares version", "1:3.0.7-24.el9", "1:3.0.7-27.el9", true, "1:3.0.7-27.el9"},
		{"errata suffix sorts after release", "3.0.7-27.el9_4", "3.0.7-27.el9", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &OSV{ID: "X", Affected: []OSVAffected{{
				Package: OSVPackage{eco, "openssl-libs"},
				Ranges:  []OSVRange{rng(OSVEvent{Introduced: "0"}, OSVEvent{Fixed: tc.fixed})},
			}}}
			got, fixed, _ := Affects(v, Package{Ecosystem: eco, Name: "openssl-libs", Version: tc.version})
			if got != tc.want || fixed != tc.wantFixed {
				t.Fatalf("Affects(%s, fixed %s) = %v, %q; want %v, %q", tc.version, tc.fixed, got, fixed, tc.want, tc.wantFixed)
			}
		})
	}
}

// FuzzOSReleaseFields checks that an image's os-release, untrusted input,
// never panics the parser or the ecosystem mapping.
func FuzzOSReleaseFields(f *testing.F) {
	for _, d := range rpmDistros {
		f.Add([]byte(d.osRelease))
	}
	f.Add([]byte("ID=\nVERSION_ID=\"\"\nCPE_NAME=:redhat:\n=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rel := osReleaseFields(fstest.MapFS{"etc/os-release": {Data: b}})
		if rel != nil && rel["ID"] == "" {
			t.Fatalf("fields without ID returned: %v", rel)
		}
		rpmEcosystem("Rocky Linux", rel)
		rpmEcosystem("Red Hat", rel)
	})
}
