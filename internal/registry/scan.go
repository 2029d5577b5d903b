package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Scan statuses (ECR's ScanStatus).
const (
	ScanInProgress  = "IN_PROGRESS"
	ScanComplete    = "COMPLETE"
	ScanFailed      = "FAILED"
	ScanUnsupported = "UNSUPPORTED_IMAGE"
	ScanPending     = "PENDING"
)

// Scan frequencies (ECR's ScanFrequency) and scan types.
const (
	ScanOnPushFrequency     = "SCAN_ON_PUSH"
	ScanContinuousFrequency = "CONTINUOUS_SCAN"
	ScanManualFrequency     = "MANUAL"
	ScanTypeBasic           = "BASIC"
	ScanTypeEnhanced        = "ENHANCED"
)

// Scan errors: adapters map them to their own codes (ECR:
// LimitExceededException, ScanNotFoundException).
var (
	ErrScanLimitExceeded = errors.New("the scan quota per image has been exceeded")
	ErrScanNotFound      = errors.New("image scan does not exist")
)

// settingScanConfig is the settings key of the registry scanning configuration.
const settingScanConfig = "scan.registryScanningConfiguration"

// ScanningRule is one registry scanning rule: a frequency for the
// repositories matching any of its wildcard filters.
type ScanningRule struct {
	ScanFrequency string   `json:"scanFrequency"`
	Filters       []string `json:"filters"`
}

// RegistryScanningConfiguration is ECR's registry scanning configuration.
type RegistryScanningConfiguration struct {
	ScanType string         `json:"scanType"`
	Rules    []ScanningRule `json:"rules"`
}

// RepositoryScanning is one repository's effective scanning configuration.
type RepositoryScanning struct {
	ScanOnPush     bool
	ScanFrequency  string
	AppliedFilters []string
}

// maxScanRules and maxScanFilters bound a configuration (ECR: 2 rules of
// 100 filters each, one per frequency).
const (
	maxScanRules   = 2
	maxScanFilters = 100
)

// Validate checks a configuration as PutRegistryScanningConfiguration does.
func (c *RegistryScanningConfiguration) Validate() error {
	if c.ScanType == "" {
		c.ScanType = ScanTypeBasic
	}
	if c.ScanType != ScanTypeBasic && c.ScanType != ScanTypeEnhanced {
		return Errorf(KindInvalidParameter, "Invalid parameter at 'scanType' failed to satisfy constraint: 'Member must satisfy enum value set: [BASIC, ENHANCED]'")
	}
	if len(c.Rules) > maxScanRules {
		return Errorf(KindInvalidParameter, "Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have length less than or equal to %d'", maxScanRules)
	}
	seen := map[string]bool{}
	for i, r := range c.Rules {
		switch r.ScanFrequency {
		case ScanOnPushFrequency, ScanContinuousFrequency, ScanManualFrequency:
		default:
			return Errorf(KindInvalidParameter, "Invalid parameter at 'rules.%d.scanFrequency': unsupported scan frequency %q", i+1, r.ScanFrequency)
		}
		if seen[r.ScanFrequency] {
			return Errorf(KindInvalidParameter, "Invalid parameter at 'rules': scan frequency %s appears in more than one rule", r.ScanFrequency)
		}
		seen[r.ScanFrequency] = true
		if len(r.Filters) == 0 || len(r.Filters) > maxScanFilters {
			return Errorf(KindInvalidParameter, "Invalid parameter at 'rules.%d.repositoryFilters': a rule needs 1 to %d filters", i+1, maxScanFilters)
		}
		for _, f := range r.Filters {
			if f == "" || len(f) > 256 {
				return Errorf(KindInvalidParameter, "Invalid parameter at 'rules.%d.repositoryFilters': invalid filter %q", i+1, f)
			}
		}
	}
	return nil
}

// ForRepository returns the effective scanning of a repository: the most
// frequent matching rule (continuous before on push), raised to
// SCAN_ON_PUSH by the repository's own scanOnPush flag.
func (c RegistryScanningConfiguration) ForRepository(name string, scanOnPush bool) RepositoryScanning {
	out := RepositoryScanning{ScanOnPush: scanOnPush, ScanFrequency: ScanManualFrequency, AppliedFilters: []string{}}
	rank := map[string]int{ScanManualFrequency: 0, ScanOnPushFrequency: 1, ScanContinuousFrequency: 2}
	if scanOnPush {
		out.ScanFrequency = ScanOnPushFrequency
	}
	for _, r := range c.Rules {
		for _, f := range r.Filters {
			if WildcardMatch(f, name) && rank[r.ScanFrequency] >= rank[out.ScanFrequency] && r.ScanFrequency != ScanManualFrequency {
				out.ScanFrequency = r.ScanFrequency
				out.AppliedFilters = []string{f}
				break
			}
		}
	}
	if out.ScanFrequency != ScanManualFrequency {
		out.ScanOnPush = true
	}
	return out
}

// WildcardMatch reports whether name matches pattern, where '*' matches any
// run of characters (ECR's WILDCARD filter type).
func WildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}

// RegistryScanningConfiguration returns the stored configuration (BASIC, no
// rules, when none was put).
func (r *Registry) RegistryScanningConfiguration(ctx context.Context) (RegistryScanningConfiguration, error) {
	return loadScanConfig(ctx, r.meta)
}

func loadScanConfig(ctx context.Context, q meta.Queries) (RegistryScanningConfiguration, error) {
	cfg := RegistryScanningConfiguration{ScanType: ScanTypeBasic, Rules: []ScanningRule{}}
	b, err := q.GetSetting(ctx, settingScanConfig)
	if errors.Is(err, meta.ErrNotFound) {
		return cfg, nil
	}
	if err != nil {
		return cfg, internal(err, "get registry scanning configuration")
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, internal(err, "decode registry scanning configuration")
	}
	return cfg, nil
}

// PutRegistryScanningConfiguration validates and stores the configuration.
func (r *Registry) PutRegistryScanningConfiguration(ctx context.Context, cfg RegistryScanningConfiguration) (RegistryScanningConfiguration, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if cfg.Rules == nil {
		cfg.Rules = []ScanningRule{}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return cfg, internal(err, "encode registry scanning configuration")
	}
	if err := r.meta.PutSetting(ctx, settingScanConfig, b); err != nil {
		return cfg, internal(err, "put registry scanning configuration")
	}
	return cfg, nil
}

// RepositoryScanning returns a repository's effective scanning configuration.
func (r *Registry) RepositoryScanning(ctx context.Context, name string) (RepositoryScanning, error) {
	repo, err := r.GetRepository(ctx, name)
	if err != nil {
		return RepositoryScanning{}, err
	}
	cfg, err := r.RegistryScanningConfiguration(ctx)
	if err != nil {
		return RepositoryScanning{}, err
	}
	return cfg.ForRepository(name, repo.ScanOnPush), nil
}

// enqueueScanOnPush queues a scan of a newly stored manifest, inside the
// push's transaction, when the repository scans on push. Queuing is one row;
// the scan itself runs later in a worker, off the push's path.
func (r *Registry) enqueueScanOnPush(ctx context.Context, q meta.Queries, repo string, settings *Repository, m *meta.Manifest) error {
	cfg, err := loadScanConfig(ctx, q)
	if err != nil {
		return err
	}
	if !cfg.ForRepository(repo, settings.ScanOnPush).ScanOnPush {
		return nil
	}
	// The scan shows as IN_PROGRESS from the push on, as in ECR.
	res := &meta.ScanResult{Repository: repo, Digest: m.Digest, Status: ScanInProgress, Description: "The scan is in progress.", StartedAt: m.PushedAt}
	if err := q.PutScanResult(ctx, res); err != nil {
		return internal(err, "record scan of %s", m.Digest)
	}
	if err := q.EnqueueScan(ctx, repo, m.Digest, m.PushedAt); err != nil {
		return internal(err, "queue scan of %s", m.Digest)
	}
	return nil
}

// StartImageScan queues a scan of an image at the caller's request. Each
// image may be scanned this way once per quota period (ECR: 24 hours);
// quota <= 0 disables the limit.
func (r *Registry) StartImageScan(ctx context.Context, repo string, id ImageID, quota time.Duration) (*Image, error) {
	img, err := r.FindImage(ctx, repo, id)
	if err != nil {
		return nil, err
	}
	now := r.now()
	err = r.meta.InTx(ctx, func(q meta.Queries) error {
		prev, err := q.GetScanResult(ctx, repo, img.Digest)
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return internal(err, "get scan of %s", img.Digest)
		case quota > 0 && prev.RequestedManually && now.Sub(prev.StartedAt) < quota:
			return &Error{Kind: KindInvalidParameter, Message: "The scan quota per image has been exceeded. Wait and try again.", Err: ErrScanLimitExceeded}
		}
		res := &meta.ScanResult{Repository: repo, Digest: img.Digest, Status: ScanInProgress, Description: "The scan is in progress.",
			StartedAt: now, RequestedManually: true}
		if prev != nil {
			// Keep the last findings visible until the new scan replaces them.
			res.Packages, res.SourceUpdatedAt = prev.Packages, prev.SourceUpdatedAt
		}
		if err := q.PutScanResult(ctx, res); err != nil {
			return internal(err, "record scan of %s", img.Digest)
		}
		if err := q.EnqueueScan(ctx, repo, img.Digest, now); err != nil {
			return internal(err, "queue scan of %s", img.Digest)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return img, nil
}

// ImageScan returns an image with its latest scan result; ErrScanNotFound
// (wrapped in a domain error) when it was never scanned or queued.
func (r *Registry) ImageScan(ctx context.Context, repo string, id ImageID) (*Image, *meta.ScanResult, error) {
	img, err := r.FindImage(ctx, repo, id)
	if err != nil {
		return nil, nil, err
	}
	res, err := r.ImageScanResult(ctx, repo, img.Digest)
	if err != nil {
		return nil, nil, err
	}
	if res == nil {
		return nil, nil, &Error{Kind: KindManifestUnknown, Err: ErrScanNotFound,
			Message: fmt.Sprintf("Image scan does not exist for the image with '%s' in the repository with name '%s' in the registry with id '%s'", id, repo, r.cfg.RegistryID)}
	}
	return img, res, nil
}

// ImageScanResult returns the latest scan result of repo@dgst, or nil when
// there is none.
func (r *Registry) ImageScanResult(ctx context.Context, repo string, dgst digest.Digest) (*meta.ScanResult, error) {
	res, err := r.meta.GetScanResult(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal(err, "get scan of %s", dgst)
	}
	return res, nil
}
