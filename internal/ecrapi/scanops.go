package ecrapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

// defaultScanQuota is ECR's limit of one StartImageScan per image per day.
const defaultScanQuota = 24 * time.Hour

// registerScanOps registers this file's operations.
func (s *Service) registerScanOps(d *Dispatcher) {
	d.Register("StartImageScan", s.startImageScan)
	d.Register("DescribeImageScanFindings", s.describeImageScanFindings)
	d.Register("PutRegistryScanningConfiguration", s.putRegistryScanningConfiguration)
	d.Register("GetRegistryScanningConfiguration", s.getRegistryScanningConfiguration)
	d.Register("BatchGetRepositoryScanningConfiguration", s.batchGetRepositoryScanningConfiguration)
}

// scanError maps the core's scan errors to ECR's exceptions.
func scanError(err error) error {
	e, ok := registry.AsError(err)
	switch {
	case ok && errors.Is(err, registry.ErrScanLimitExceeded):
		return Errorf("LimitExceededException", "%s", e.Message)
	case ok && errors.Is(err, registry.ErrScanNotFound):
		return Errorf("ScanNotFoundException", "%s", e.Message)
	}
	return coreError(err)
}

type imageScanStatusJSON struct {
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

// StartImageScan

type startImageScanInput struct {
	RegistryID     *string         `json:"registryId"`
	RepositoryName string          `json:"repositoryName"`
	ImageID        imageIdentifier `json:"imageId"`
}

type startImageScanOutput struct {
	RegistryID      string              `json:"registryId"`
	RepositoryName  string              `json:"repositoryName"`
	ImageID         imageIdentifier     `json:"imageId"`
	ImageScanStatus imageScanStatusJSON `json:"imageScanStatus"`
}

func (s *Service) scanQuota() time.Duration {
	switch {
	case s.opts.ScanQuota < 0:
		return 0
	case s.opts.ScanQuota == 0:
		return defaultScanQuota
	}
	return s.opts.ScanQuota
}

func (s *Service) startImageScan(ctx context.Context, req *Request) (any, error) {
	var in startImageScanInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	rid, err := imageIDParam("imageId", in.ImageID)
	if err != nil {
		return nil, err
	}
	img, err := s.core.StartImageScan(ctx, in.RepositoryName, rid, s.scanQuota())
	if registry.KindOf(err) == registry.KindManifestUnknown && !errors.Is(err, registry.ErrScanNotFound) {
		return nil, s.imageNotFound(in.RepositoryName, in.ImageID)
	}
	if err != nil {
		return nil, scanError(err)
	}
	return startImageScanOutput{
		RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName,
		ImageID:         imageIdentifier{ImageDigest: img.Digest.String(), ImageTag: in.ImageID.ImageTag},
		ImageScanStatus: imageScanStatusJSON{Status: registry.ScanInProgress},
	}, nil
}

// DescribeImageScanFindings

type describeImageScanFindingsInput struct {
	RegistryID     *string         `json:"registryId"`
	RepositoryName string          `json:"repositoryName"`
	ImageID        imageIdentifier `json:"imageId"`
	NextToken      *string         `json:"nextToken"`
	MaxResults     *int64          `json:"maxResults"`
}

type findingAttributeJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type findingJSON struct {
	Name        string                 `json:"name"`
	Description string                 `json:"description,omitempty"`
	URI         string                 `json:"uri,omitempty"`
	Severity    string                 `json:"severity"`
	Attributes  []findingAttributeJSON `json:"attributes"`
}

type imageScanFindingsJSON struct {
	ImageScanCompletedAt         EpochTime      `json:"imageScanCompletedAt,omitzero"`
	VulnerabilitySourceUpdatedAt EpochTime      `json:"vulnerabilitySourceUpdatedAt,omitzero"`
	FindingSeverityCounts        map[string]int `json:"findingSeverityCounts"`
	Findings                     []findingJSON  `json:"findings"`
}

type describeImageScanFindingsOutput struct {
	RegistryID        string                 `json:"registryId"`
	RepositoryName    string                 `json:"repositoryName"`
	ImageID           imageIdentifier        `json:"imageId"`
	ImageScanStatus   imageScanStatusJSON    `json:"imageScanStatus"`
	ImageScanFindings *imageScanFindingsJSON `json:"imageScanFindings,omitempty"`
	NextToken         string                 `json:"nextToken,omitempty"`
}

// severityOrder sorts findings most severe first.
var severityOrder = map[string]int{"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNDEFINED": 5}

func decodeFindings(res *meta.ScanResult) ([]findingJSON, error) {
	fs := []findingJSON{}
	if len(res.Findings) > 0 {
		if err := json.Unmarshal(res.Findings, &fs); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(fs, func(a, b findingJSON) int {
		if d := severityOrder[a.Severity] - severityOrder[b.Severity]; d != 0 {
			return d
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return fs, nil
}

func severityCounts(fs []findingJSON) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}

func (s *Service) describeImageScanFindings(ctx context.Context, req *Request) (any, error) {
	var in describeImageScanFindingsInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	rid, err := imageIDParam("imageId", in.ImageID)
	if err != nil {
		return nil, err
	}
	limit := 100
	if in.MaxResults != nil { // the validator has enforced the model's 1..1000
		limit = int(*in.MaxResults)
	}
	offset := 0
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 {
			return nil, invalidNextToken()
		}
		offset = n
	}
	img, res, err := s.core.ImageScan(ctx, in.RepositoryName, rid)
	if registry.KindOf(err) == registry.KindManifestUnknown && !errors.Is(err, registry.ErrScanNotFound) {
		return nil, s.imageNotFound(in.RepositoryName, in.ImageID)
	}
	if err != nil {
		return nil, scanError(err)
	}
	out := describeImageScanFindingsOutput{
		RegistryID: s.opts.AccountID, RepositoryName: in.RepositoryName,
		ImageID:         imageIdentifier{ImageDigest: img.Digest.String(), ImageTag: in.ImageID.ImageTag},
		ImageScanStatus: imageScanStatusJSON{Status: res.Status, Description: res.Description},
	}
	if res.Status != registry.ScanComplete || res.CompletedAt == nil {
		return out, nil
	}
	fs, err := decodeFindings(res)
	if err != nil {
		return nil, err
	}
	f := &imageScanFindingsJSON{
		ImageScanCompletedAt:         EpochTime(*res.CompletedAt),
		VulnerabilitySourceUpdatedAt: EpochTime(res.SourceUpdatedAt),
		FindingSeverityCounts:        severityCounts(fs),
		Findings:                     []findingJSON{},
	}
	if offset < len(fs) {
		end := min(offset+limit, len(fs))
		f.Findings = fs[offset:end]
		if end < len(fs) {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		}
	}
	out.ImageScanFindings = f
	return out, nil
}

// setImageScan fills DescribeImages' imageScanStatus and
// imageScanFindingsSummary from the image's latest scan, if any.
func (s *Service) setImageScan(ctx context.Context, d *imageDetail) error {
	dgst, err := digest.Parse(d.ImageDigest)
	if err != nil {
		return nil
	}
	res, err := s.core.ImageScanResult(ctx, d.RepositoryName, dgst)
	if err != nil || res == nil {
		return err
	}
	d.ImageScanStatus = &imageScanStatusJSON{Status: res.Status, Description: res.Description}
	if res.Status == registry.ScanComplete && res.CompletedAt != nil {
		fs, err := decodeFindings(res)
		if err != nil {
			return err
		}
		d.ImageScanFindingsSummary = &imageScanFindingsSummaryJSON{
			ImageScanCompletedAt:         EpochTime(*res.CompletedAt),
			VulnerabilitySourceUpdatedAt: EpochTime(res.SourceUpdatedAt),
			FindingSeverityCounts:        severityCounts(fs),
		}
	}
	return nil
}

type imageScanFindingsSummaryJSON struct {
	ImageScanCompletedAt         EpochTime      `json:"imageScanCompletedAt,omitzero"`
	VulnerabilitySourceUpdatedAt EpochTime      `json:"vulnerabilitySourceUpdatedAt,omitzero"`
	FindingSeverityCounts        map[string]int `json:"findingSeverityCounts"`
}

// Registry scanning configuration.

type scanningRepositoryFilterJSON struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

type registryScanningRuleJSON struct {
	ScanFrequency     string                         `json:"scanFrequency"`
	RepositoryFilters []scanningRepositoryFilterJSON `json:"repositoryFilters"`
}

type registryScanningConfigurationJSON struct {
	ScanType string                     `json:"scanType"`
	Rules    []registryScanningRuleJSON `json:"rules"`
}

func toScanningJSON(c registry.RegistryScanningConfiguration) registryScanningConfigurationJSON {
	out := registryScanningConfigurationJSON{ScanType: c.ScanType, Rules: []registryScanningRuleJSON{}}
	for _, r := range c.Rules {
		jr := registryScanningRuleJSON{ScanFrequency: r.ScanFrequency, RepositoryFilters: []scanningRepositoryFilterJSON{}}
		for _, f := range r.Filters {
			jr.RepositoryFilters = append(jr.RepositoryFilters, scanningRepositoryFilterJSON{Filter: f, FilterType: "WILDCARD"})
		}
		out.Rules = append(out.Rules, jr)
	}
	return out
}

type putRegistryScanningConfigurationInput struct {
	ScanType string                     `json:"scanType"`
	Rules    []registryScanningRuleJSON `json:"rules"`
}

type putRegistryScanningConfigurationOutput struct {
	RegistryScanningConfiguration registryScanningConfigurationJSON `json:"registryScanningConfiguration"`
}

func (s *Service) putRegistryScanningConfiguration(ctx context.Context, req *Request) (any, error) {
	var in putRegistryScanningConfigurationInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	cfg := registry.RegistryScanningConfiguration{ScanType: in.ScanType, Rules: []registry.ScanningRule{}}
	for i, r := range in.Rules {
		rule := registry.ScanningRule{ScanFrequency: r.ScanFrequency}
		for _, f := range r.RepositoryFilters {
			if f.FilterType != "" && f.FilterType != "WILDCARD" {
				return nil, invalidParam(fmt.Sprintf("rules.%d.repositoryFilters", i+1), "filterType must be WILDCARD")
			}
			rule.Filters = append(rule.Filters, f.Filter)
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	stored, err := s.core.PutRegistryScanningConfiguration(ctx, cfg)
	if err != nil {
		return nil, coreError(err)
	}
	return putRegistryScanningConfigurationOutput{RegistryScanningConfiguration: toScanningJSON(stored)}, nil
}

type getRegistryScanningConfigurationOutput struct {
	RegistryID            string                            `json:"registryId"`
	ScanningConfiguration registryScanningConfigurationJSON `json:"scanningConfiguration"`
}

func (s *Service) getRegistryScanningConfiguration(ctx context.Context, req *Request) (any, error) {
	var in struct{}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	cfg, err := s.core.RegistryScanningConfiguration(ctx)
	if err != nil {
		return nil, coreError(err)
	}
	return getRegistryScanningConfigurationOutput{RegistryID: s.opts.AccountID, ScanningConfiguration: toScanningJSON(cfg)}, nil
}

type batchGetRepositoryScanningConfigurationInput struct {
	RepositoryNames []string `json:"repositoryNames"`
}

type repositoryScanningConfigurationJSON struct {
	RepositoryArn      string                         `json:"repositoryArn"`
	RepositoryName     string                         `json:"repositoryName"`
	ScanOnPush         bool                           `json:"scanOnPush"`
	ScanFrequency      string                         `json:"scanFrequency"`
	AppliedScanFilters []scanningRepositoryFilterJSON `json:"appliedScanFilters"`
}

type repositoryScanningFailureJSON struct {
	RepositoryName string `json:"repositoryName"`
	FailureCode    string `json:"failureCode"`
	FailureReason  string `json:"failureReason"`
}

type batchGetRepositoryScanningConfigurationOutput struct {
	ScanningConfigurations []repositoryScanningConfigurationJSON `json:"scanningConfigurations"`
	Failures               []repositoryScanningFailureJSON       `json:"failures"`
}

func (s *Service) batchGetRepositoryScanningConfiguration(ctx context.Context, req *Request) (any, error) {
	var in batchGetRepositoryScanningConfigurationInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	out := batchGetRepositoryScanningConfigurationOutput{
		ScanningConfigurations: []repositoryScanningConfigurationJSON{}, Failures: []repositoryScanningFailureJSON{},
	}
	for _, name := range in.RepositoryNames {
		rs, err := s.core.RepositoryScanning(ctx, name)
		if registry.KindOf(err) == registry.KindNameUnknown {
			out.Failures = append(out.Failures, repositoryScanningFailureJSON{RepositoryName: name, FailureCode: "REPOSITORY_NOT_FOUND",
				FailureReason: "REPOSITORY_NOT_FOUND"})
			continue
		}
		if err != nil {
			return nil, coreError(err)
		}
		c := repositoryScanningConfigurationJSON{RepositoryArn: s.repositoryARN(name), RepositoryName: name,
			ScanOnPush: rs.ScanOnPush, ScanFrequency: rs.ScanFrequency, AppliedScanFilters: []scanningRepositoryFilterJSON{}}
		for _, f := range rs.AppliedFilters {
			c.AppliedScanFilters = append(c.AppliedScanFilters, scanningRepositoryFilterJSON{Filter: f, FilterType: "WILDCARD"})
		}
		out.ScanningConfigurations = append(out.ScanningConfigurations, c)
	}
	return out, nil
}
