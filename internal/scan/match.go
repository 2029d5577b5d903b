package scan

import (
	"fmt"
	"slices"
	"strings"

	cvss20 "github.com/pandatix/go-cvss/20"
	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"

	"github.com/google/osv-scalibr/semantic"
)

// Severities (ECR's FindingSeverity).
const (
	SeverityInformational = "INFORMATIONAL"
	SeverityLow           = "LOW"
	SeverityMedium        = "MEDIUM"
	SeverityHigh          = "HIGH"
	SeverityCritical      = "CRITICAL"
	SeverityUndefined     = "UNDEFINED"
)

// Package is an installed package found in an image.
type Package struct {
	// Ecosystem is the OSV ecosystem, e.g. "Debian:12", "Alpine:v3.20", "Go".
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// SourceName is the source package OSV records name for OS packages
	// (Debian's Source, Alpine's origin), when it differs from Name.
	SourceName string `json:"sourceName,omitempty"`
	// Location is the file the package was found in.
	Location string `json:"location,omitempty"`
}

// LookupName is the package name OSV records use.
func (p Package) LookupName() string {
	if p.SourceName != "" {
		return p.SourceName
	}
	return p.Name
}

// Attribute is a finding's key/value attribute.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Finding is one vulnerability in one package (ECR's ImageScanFinding).
type Finding struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	URI         string      `json:"uri,omitempty"`
	Severity    string      `json:"severity"`
	Attributes  []Attribute `json:"attributes"`
}

// baseEcosystem strips the release suffix: "Debian:12" -> "Debian".
func baseEcosystem(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// Affects reports whether the record affects the package and, if so, the
// first version that fixes it (empty when none is known).
func Affects(v *OSV, p Package) (affected bool, fixed string, a *OSVAffected) {
	for i := range v.Affected {
		af := &v.Affected[i]
		if af.Package.Ecosystem != p.Ecosystem || af.Package.Name != p.LookupName() {
			continue
		}
		if slices.Contains(af.Versions, p.Version) {
			return true, firstFixed(af, p), af
		}
		for _, r := range af.Ranges {
			if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
				continue
			}
			if ok, fix := inRange(r, p); ok {
				return true, fix, af
			}
		}
	}
	return false, "", nil
}

// compare orders versions with the ecosystem's rules; ok is false when
// either does not parse.
func compare(eco, a, b string) (int, bool) {
	va, err := semantic.Parse(a, baseEcosystem(eco))
	if err != nil {
		return 0, false
	}
	c, err := va.CompareStr(b)
	if err != nil {
		return 0, false
	}
	return c, true
}

// inRange evaluates a range's events as the OSV schema defines: the
// version is affected after an introduced event it reaches and before a
// fixed (or limit) it reaches or a last_affected it passes.
func inRange(r OSVRange, p Package) (bool, string) {
	type ev struct {
		kind, ver string
	}
	var evs []ev
	for _, e := range r.Events {
		switch {
		case e.Introduced != "":
			evs = append(evs, ev{"introduced", e.Introduced})
		case e.Fixed != "":
			evs = append(evs, ev{"fixed", e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, ev{"last_affected", e.LastAffected})
		case e.Limit != "":
			evs = append(evs, ev{"limit", e.Limit})
		}
	}
	eco := p.Ecosystem
	slices.SortStableFunc(evs, func(a, b ev) int {
		if a.ver == b.ver {
			return 0
		}
		if a.ver == "0" {
			return -1
		}
		if b.ver == "0" {
			return 1
		}
		c, _ := compare(eco, a.ver, b.ver)
		return c
	})
	affected := false
	for _, e := range evs {
		if e.ver == "0" && e.kind == "introduced" {
			affected = true
			continue
		}
		c, ok := compare(eco, p.Version, e.ver)
		if !ok {
			return false, ""
		}
		switch e.kind {
		case "introduced":
			if c >= 0 {
				affected = true
			}
		case "fixed", "limit":
			if c >= 0 {
				affected = false
			}
		case "last_affected":
			if c > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, ""
	}
	for _, e := range evs {
		if e.kind != "fixed" {
			continue
		}
		if c, ok := compare(eco, p.Version, e.ver); ok && c < 0 {
			return true, e.ver
		}
	}
	return true, ""
}

func firstFixed(af *OSVAffected, p Package) string {
	for _, r := range af.Ranges {
		for _, e := range r.Events {
			if e.Fixed == "" {
				continue
			}
			if c, ok := compare(p.Ecosystem, p.Version, e.Fixed); ok && c < 0 {
				return e.Fixed
			}
		}
	}
	return ""
}

// Severity rates a record for an affected package: the highest CVSS score
// among its vectors, else the ecosystem's own rating, else UNDEFINED. It
// also returns the CVSS vector and score it used, if any.
func Severity(v *OSV, af *OSVAffected) (sev, vector string, score float64) {
	var entries []OSVSeverity
	if af != nil {
		entries = append(entries, af.Severity...)
	}
	entries = append(entries, v.Severity...)
	best := -1.0
	for _, s := range entries {
		sc, ok := cvssScore(s)
		if ok && sc > best {
			best, vector = sc, s.Score
		}
	}
	if best >= 0 {
		return ratingOf(best), vector, best
	}
	for _, s := range entries {
		if r := ecosystemRating(s.Score); r != "" && !strings.HasPrefix(s.Type, "CVSS") {
			return r, "", 0
		}
	}
	var maps []map[string]any
	if af != nil {
		maps = append(maps, af.EcosystemSpecific, af.DatabaseSpecific)
	}
	maps = append(maps, v.DatabaseSpecific)
	for _, m := range maps {
		for _, k := range []string{"severity", "urgency"} {
			if s, ok := m[k].(string); ok {
				if r := ecosystemRating(s); r != "" {
					return r, "", 0
				}
			}
		}
	}
	return SeverityUndefined, "", 0
}

func cvssScore(s OSVSeverity) (float64, bool) {
	switch s.Type {
	case "CVSS_V4":
		c, err := cvss40.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.Score(), true
	case "CVSS_V3":
		if strings.HasPrefix(s.Score, "CVSS:3.0/") {
			c, err := cvss30.ParseVector(s.Score)
			if err != nil {
				return 0, false
			}
			return c.BaseScore(), true
		}
		c, err := cvss31.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case "CVSS_V2":
		c, err := cvss20.ParseVector(s.Score)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	}
	return 0, false
}

// ratingOf maps a CVSS score to ECR's severities (the CVSS v3 bands).
func ratingOf(score float64) string {
	switch {
	case score >= 9:
		return SeverityCritical
	case score >= 7:
		return SeverityHigh
	case score >= 4:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	default:
		return SeverityInformational
	}
}

// ecosystemRating maps an ecosystem's own severity word (Ubuntu and Red
// Hat priorities, Debian urgencies, GitHub ratings) to ECR's severities.
func ecosystemRating(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return SeverityCritical
	case "high", "important":
		return SeverityHigh
	case "medium", "moderate":
		return SeverityMedium
	case "low", "negligible", "unimportant":
		return SeverityLow
	}
	return ""
}

// MatchPackage returns the findings of records against one package, one
// per finding name.
func MatchPackage(p Package, vulns []*OSV) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, v := range vulns {
		ok, fixed, af := Affects(v, p)
		if !ok {
			continue
		}
		name := v.CVEName()
		if seen[name] {
			continue
		}
		seen[name] = true
		sev, vector, score := Severity(v, af)
		attrs := []Attribute{{Key: "package_name", Value: p.Name}, {Key: "package_version", Value: p.Version}}
		if fixed != "" {
			attrs = append(attrs, Attribute{Key: "fixed_version", Value: fixed})
		}
		if vector != "" {
			prefix := "CVSS3"
			switch {
			case strings.HasPrefix(vector, "CVSS:4"):
				prefix = "CVSS4"
			case !strings.HasPrefix(vector, "CVSS:"):
				prefix = "CVSS2"
			}
			attrs = append(attrs, Attribute{Key: prefix + "_VECTOR", Value: vector}, Attribute{Key: prefix + "_SCORE", Value: fmt.Sprintf("%.1f", score)})
		}
		out = append(out, Finding{Name: name, Description: v.Description(), URI: v.URI(), Severity: sev, Attributes: attrs})
	}
	return out
}

// SeverityCounts counts findings by severity.
func SeverityCounts(fs []Finding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}
