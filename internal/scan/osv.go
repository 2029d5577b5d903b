// Package scan finds the packages in an image's layers, keeps an OSV
// vulnerability database in the metadata store, matches the two with each
// ecosystem's version ordering, and runs scans in background workers.
package scan

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// OSV is the part of an OSV record (https://ossf.github.io/osv-schema/)
// that scanning uses.
type OSV struct {
	ID               string         `json:"id"`
	Modified         time.Time      `json:"modified"`
	Aliases          []string       `json:"aliases,omitempty"`
	Upstream         []string       `json:"upstream,omitempty"`
	Summary          string         `json:"summary,omitempty"`
	Details          string         `json:"details,omitempty"`
	Severity         []OSVSeverity  `json:"severity,omitempty"`
	Affected         []OSVAffected  `json:"affected,omitempty"`
	References       []OSVReference `json:"references,omitempty"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
}

// OSVSeverity is a severity entry: a CVSS vector or an ecosystem rating.
type OSVSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// OSVAffected is one affected package with its versions.
type OSVAffected struct {
	Package           OSVPackage     `json:"package"`
	Severity          []OSVSeverity  `json:"severity,omitempty"`
	Ranges            []OSVRange     `json:"ranges,omitempty"`
	Versions          []string       `json:"versions,omitempty"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  map[string]any `json:"database_specific,omitempty"`
}

// OSVPackage names a package in an ecosystem.
type OSVPackage struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
}

// OSVRange is a version range as a list of events.
type OSVRange struct {
	Type   string     `json:"type"`
	Events []OSVEvent `json:"events"`
}

// OSVEvent is one range event; exactly one field is set.
type OSVEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// OSVReference is a link about the vulnerability.
type OSVReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// maxRecordBytes bounds one OSV record; real ones are a few KiB.
const maxRecordBytes = 16 << 20

// ParseOSV decodes and checks one OSV record.
func ParseOSV(b []byte) (*OSV, error) {
	if len(b) > maxRecordBytes {
		return nil, fmt.Errorf("osv record of %d bytes exceeds %d", len(b), maxRecordBytes)
	}
	var v OSV
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode osv record: %w", err)
	}
	if v.ID == "" || len(v.ID) > 256 {
		return nil, fmt.Errorf("osv record has no valid id")
	}
	return &v, nil
}

// CVEName is the name a finding reports: the record's CVE id (its own id,
// an alias or an upstream id), else the record id.
func (v *OSV) CVEName() string {
	if strings.HasPrefix(v.ID, "CVE-") {
		return v.ID
	}
	for _, ids := range [][]string{v.Aliases, v.Upstream} {
		for _, a := range ids {
			if strings.HasPrefix(a, "CVE-") {
				return a
			}
		}
	}
	return v.ID
}

// URI is the advisory link a finding reports.
func (v *OSV) URI() string {
	for _, want := range []string{"ADVISORY", "WEB", ""} {
		for _, r := range v.References {
			if want == "" || r.Type == want {
				return r.URL
			}
		}
	}
	return "https://osv.dev/vulnerability/" + v.ID
}

// Description is the record's details, else its summary.
func (v *OSV) Description() string {
	if v.Details != "" {
		return v.Details
	}
	return v.Summary
}
