package meta

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// ScanJob is a queued image scan. Queued jobs live in the metadata store so
// a restart (or another node) picks them up.
type ScanJob struct {
	Repository string
	Digest     digest.Digest
	EnqueuedAt time.Time
	// LeaseUntil is when a claimed job may be claimed again (its worker is
	// presumed dead); the zero time for a job never claimed.
	LeaseUntil time.Time
	Attempts   int
}

// ScanResult is the latest scan of one image manifest. Packages and Findings
// are opaque JSON documents owned by the scanner.
type ScanResult struct {
	Repository  string
	Digest      digest.Digest
	Status      string
	Description string
	// StartedAt is when the latest scan was requested; RequestedManually
	// tells a StartImageScan request apart from scan on push or rescans.
	StartedAt         time.Time
	RequestedManually bool
	// CompletedAt is nil until a scan finished.
	CompletedAt *time.Time
	Packages    []byte
	Findings    []byte
	// SourceUpdatedAt is the age of the vulnerability data the findings
	// were matched against.
	SourceUpdatedAt time.Time
}

// Vulnerability is one OSV record, stored whole, with the packages it
// affects as lookup keys.
type Vulnerability struct {
	ID       string
	Modified time.Time
	// Data is the OSV JSON record.
	Data []byte
	// Affected are the (ecosystem, package name) pairs the record names.
	Affected []VulnPackage
}

// VulnPackage is an ecosystem and package name, e.g. ("Debian:12", "openssl").
type VulnPackage struct {
	Ecosystem string
	Name      string
}

// ScanEvent records a finished scan (EventBridge's "ECR Image Scan").
type ScanEvent struct {
	ID         int64
	Repository string
	Digest     digest.Digest
	Status     string
	// Counts is the JSON object of finding counts by severity.
	Counts []byte
	At     time.Time
}

// ScanQueries are the metadata operations of image scanning.
type ScanQueries interface {
	// EnqueueScan queues a scan of repo@dgst (idempotent: a queued job keeps
	// its place). ErrNotFound when the manifest does not exist.
	EnqueueScan(ctx context.Context, repo string, dgst digest.Digest, at time.Time) error
	// ClaimScan leases the oldest job whose lease expired at now until the
	// given time and returns it; ErrNotFound when there is none.
	ClaimScan(ctx context.Context, now, leaseUntil time.Time) (*ScanJob, error)
	// DeleteScanJob removes a finished job (a no-op when it is gone).
	DeleteScanJob(ctx context.Context, repo string, dgst digest.Digest) error

	// PutScanResult creates or replaces an image's scan result; ErrNotFound
	// when the manifest does not exist.
	PutScanResult(ctx context.Context, r *ScanResult) error
	GetScanResult(ctx context.Context, repo string, dgst digest.Digest) (*ScanResult, error) // ErrNotFound
	// ListScanResults returns up to limit results ordered by (repository,
	// digest) after the given pair; limit <= 0 means all.
	ListScanResults(ctx context.Context, afterRepo string, afterDigest digest.Digest, limit int) ([]ScanResult, error)

	// PutVulnerability creates or replaces a record and its lookup keys.
	PutVulnerability(ctx context.Context, v *Vulnerability) error
	// VulnerabilitiesFor returns the records that name the package in the
	// ecosystem, ordered by id.
	VulnerabilitiesFor(ctx context.Context, ecosystem, name string) ([]Vulnerability, error)

	// AddScanEvent appends an event (its ID is assigned).
	AddScanEvent(ctx context.Context, e *ScanEvent) error
	// ListScanEvents returns up to limit events with ID above afterID in ID order.
	ListScanEvents(ctx context.Context, afterID int64, limit int) ([]ScanEvent, error)
}
