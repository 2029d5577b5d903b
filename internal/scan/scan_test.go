package scan

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/meta/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func findingNames(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name+"/"+f.Severity)
	}
	slices.Sort(out)
	return out
}

func attr(f Finding, key string) string {
	for _, a := range f.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// TestScanFixtures extracts fixture images and matches them against
// imported fixture OSV data in a real store.
func TestScanFixtures(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	writeZip(t, zipPath, fixtureRecords()...)
	st, err := Import(ctx, store, zipPath)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if st.Records != 6 || st.Skipped != 0 {
		t.Fatalf("Import stats = %+v", st)
	}
	age, err := SourceUpdatedAt(ctx, store)
	if err != nil || !age.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("SourceUpdatedAt = %v, %v", age, err)
	}

	t.Run("Debian", func(t *testing.T) {
		ex, err := Extract(ctx, debianImage(t), ExtractConfig{})
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if ex.OS != "debian 12" {
			t.Errorf("OS = %q", ex.OS)
		}
		for _, p := range ex.Packages {
			if p.Name == "zlib1g" {
				t.Errorf("whited-out package extracted: %+v", p)
			}
		}
		fs, err := MatchAll(ctx, store, ex.Packages)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"CVE-2024-0001/CRITICAL", "CVE-2024-0003/MEDIUM", "CVE-2024-0006/HIGH"}
		if got := findingNames(fs); !slices.Equal(got, want) {
			t.Fatalf("findings = %v, want %v (packages %+v)", got, want, ex.Packages)
		}
		counts := SeverityCounts(fs)
		if counts[SeverityCritical] != 1 || counts[SeverityHigh] != 1 || counts[SeverityMedium] != 1 || len(counts) != 3 {
			t.Errorf("counts = %v", counts)
		}
		for _, f := range fs {
			switch f.Name {
			case "CVE-2024-0001":
				if attr(f, "package_name") != "openssl" || attr(f, "package_version") != "3.0.11-1~deb12u2" ||
					attr(f, "fixed_version") != "3.0.13-1~deb12u1" || attr(f, "CVSS3_SCORE") != "9.8" ||
					f.URI == "" || f.Description != "Details of DEBIAN-CVE-2024-0001." {
					t.Errorf("openssl finding = %+v", f)
				}
			case "CVE-2024-0003":
				if attr(f, "package_name") != "libc6" {
					t.Errorf("glibc finding = %+v", f)
				}
			}
		}
	})

	t.Run("Alpine", func(t *testing.T) {
		ex, err := Extract(ctx, alpineImage(t), ExtractConfig{})
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		fs, err := MatchAll(ctx, store, ex.Packages)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := findingNames(fs), []string{"CVE-2024-0005/UNDEFINED"}; !slices.Equal(got, want) {
			t.Fatalf("findings = %v, want %v (packages %+v)", got, want, ex.Packages)
		}
		if attr(fs[0], "fixed_version") != "1.2.4-r3" {
			t.Errorf("musl finding = %+v", fs[0])
		}
	})

	t.Run("Unsupported", func(t *testing.T) {
		_, err := Extract(ctx, unsupportedImage(t), ExtractConfig{})
		if !errors.Is(err, ErrUnsupportedImage) {
			t.Fatalf("Extract = %v, want ErrUnsupportedImage", err)
		}
	})
}
