package ecrapi

import (
	"context"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/berth-registry/berth/internal/registry"
)

// registerRepositoryOps registers this file's operations.
func (s *Service) registerRepositoryOps(d *Dispatcher) {
	d.Register("CreateRepository", s.createRepository)
	d.Register("DescribeRepositories", s.describeRepositories)
	d.Register("DeleteRepository", s.deleteRepository)
	d.Register("PutImageTagMutability", s.putImageTagMutability)
	d.Register("PutImageScanningConfiguration", s.putImageScanningConfiguration)
	d.Register("TagResource", s.tagResource)
	d.Register("UntagResource", s.untagResource)
	d.Register("ListTagsForResource", s.listTagsForResource)
}

// Wire shapes shared by the repository operations.

type tagFilterJSON struct {
	FilterType string `json:"filterType"`
	Filter     string `json:"filter"`
}

type scanningConfigJSON struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type encryptionConfigJSON struct {
	EncryptionType string `json:"encryptionType"`
	KMSKey         string `json:"kmsKey,omitempty"`
}

type tagJSON struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// repositoryJSON is the model's Repository.
type repositoryJSON struct {
	RepositoryArn                      string               `json:"repositoryArn"`
	RegistryID                         string               `json:"registryId"`
	RepositoryName                     string               `json:"repositoryName"`
	RepositoryURI                      string               `json:"repositoryUri"`
	CreatedAt                          EpochTime            `json:"createdAt"`
	ImageTagMutability                 string               `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON      `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration         scanningConfigJSON   `json:"imageScanningConfiguration"`
	EncryptionConfiguration            encryptionConfigJSON `json:"encryptionConfiguration"`
}

func (s *Service) repositoryOut(r *registry.Repository) repositoryJSON {
	return repositoryJSON{
		RepositoryArn:                      s.repositoryARN(r.Name),
		RegistryID:                         s.opts.AccountID,
		RepositoryName:                     r.Name,
		RepositoryURI:                      s.repositoryURI(r.Name),
		CreatedAt:                          EpochTime(r.CreatedAt),
		ImageTagMutability:                 r.ImageTagMutability,
		ImageTagMutabilityExclusionFilters: filtersOut(r.MutabilityFilters),
		ImageScanningConfiguration:         scanningConfigJSON{ScanOnPush: r.ScanOnPush},
		EncryptionConfiguration:            encryptionConfigJSON{EncryptionType: r.EncryptionType, KMSKey: r.KMSKey},
	}
}

func filtersOut(fs []registry.TagFilter) []tagFilterJSON {
	if len(fs) == 0 {
		return nil
	}
	out := make([]tagFilterJSON, len(fs))
	for i, f := range fs {
		out[i] = tagFilterJSON(f)
	}
	return out
}

func filtersIn(fs []tagFilterJSON) []registry.TagFilter {
	if len(fs) == 0 {
		return nil
	}
	out := make([]registry.TagFilter, len(fs))
	for i, f := range fs {
		out[i] = registry.TagFilter(f)
	}
	return out
}

func tagsOut(ts []registry.ResourceTag) []tagJSON {
	out := make([]tagJSON, len(ts))
	for i, t := range ts {
		out[i] = tagJSON(t)
	}
	return out
}

// checkMutability applies ECR's rule tying the exclusion filters to the
// *_WITH_EXCLUSION modes (ECR's wording, as moto reproduces it). filters is
// nil when the request omitted them.
func checkMutability(mode string, filters []tagFilterJSON) error {
	exclusion := mode == registry.TagMutableWithExclusion || mode == registry.TagImmutableWithExclusion
	if exclusion == (filters != nil) {
		return nil
	}
	return invalidParam("imageTagMutabilityExclusionFilters", "ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as "+mode)
}

// Resource tags follow the AWS tagging rules.
const (
	maxResourceTags   = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

func checkTagKey(key string) error {
	switch {
	case key == "" || utf8.RuneCountInString(key) > maxTagKeyLength:
		return Errorf("InvalidTagParameterException", "Tag key '%s' must be between 1 and %d characters long.", key, maxTagKeyLength)
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return Errorf("InvalidTagParameterException", "Tag key '%s' is invalid: the 'aws:' prefix is reserved for AWS use.", key)
	case !tagChars.MatchString(key):
		return Errorf("InvalidTagParameterException", "Tag key '%s' contains invalid characters.", key)
	}
	return nil
}

func checkTags(tags []tagJSON) error {
	for _, t := range tags {
		if err := checkTagKey(t.Key); err != nil {
			return err
		}
		if utf8.RuneCountInString(t.Value) > maxTagValueLength || !tagChars.MatchString(t.Value) {
			return Errorf("InvalidTagParameterException", "Tag value '%s' for key '%s' is invalid.", t.Value, t.Key)
		}
	}
	return nil
}

// mergeTags adds or replaces tags by key, keeping the existing order.
func mergeTags(have []registry.ResourceTag, add []tagJSON) []registry.ResourceTag {
	out := slices.Clone(have)
	for _, t := range add {
		i := slices.IndexFunc(out, func(e registry.ResourceTag) bool { return e.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, registry.ResourceTag(t))
		}
	}
	return out
}

func tooManyTags(arn string) error {
	return Errorf("TooManyTagsException", "Tag limit of %d exceeded for resource %s", maxResourceTags, arn)
}

// CreateRepository

type createRepositoryInput struct {
	RegistryID                         *string               `json:"registryId"`
	RepositoryName                     string                `json:"repositoryName"`
	Tags                               []tagJSON             `json:"tags"`
	ImageTagMutability                 *string               `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON       `json:"imageTagMutabilityExclusionFilters"`
	ImageScanningConfiguration         *scanningConfigJSON   `json:"imageScanningConfiguration"`
	EncryptionConfiguration            *encryptionConfigJSON `json:"encryptionConfiguration"`
}

type createRepositoryOutput struct {
	Repository repositoryJSON `json:"repository"`
}

func (s *Service) createRepository(ctx context.Context, req *Request) (any, error) {
	var in createRepositoryInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	settings := registry.RepositorySettings{ImageTagMutability: registry.TagMutable}
	if in.ImageTagMutability != nil {
		settings.ImageTagMutability = *in.ImageTagMutability
	}
	if err := checkMutability(settings.ImageTagMutability, in.ImageTagMutabilityExclusionFilters); err != nil {
		return nil, err
	}
	settings.MutabilityFilters = filtersIn(in.ImageTagMutabilityExclusionFilters)
	if in.ImageScanningConfiguration != nil {
		settings.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	settings.EncryptionType = "AES256"
	if ec := in.EncryptionConfiguration; ec != nil {
		if ec.EncryptionType == "AES256" && ec.KMSKey != "" {
			return nil, invalidParam("encryptionConfiguration", "kmsKey can only be specified when encryptionType is KMS or KMS_DSSE")
		}
		settings.EncryptionType, settings.KMSKey = ec.EncryptionType, ec.KMSKey
	}
	if len(in.Tags) > maxResourceTags {
		return nil, tooManyTags(s.repositoryARN(in.RepositoryName))
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	settings.Tags = mergeTags(nil, in.Tags)
	repo, err := s.core.CreateRepository(ctx, in.RepositoryName, settings)
	if err != nil {
		return nil, coreError(err)
	}
	return createRepositoryOutput{Repository: s.repositoryOut(repo)}, nil
}

// DescribeRepositories

type describeRepositoriesInput struct {
	RegistryID      *string  `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int32   `json:"maxResults"`
}

type describeRepositoriesOutput struct {
	Repositories []repositoryJSON `json:"repositories"`
	NextToken    string           `json:"nextToken,omitempty"`
}

// defaultPageSize is what ECR lists when maxResults is not given.
const defaultPageSize = 100

// Pagination tokens are opaque to clients: a versioned, base64url-encoded
// name of the last repository returned. Listing resumes after that name, so
// a page boundary survives repositories being created or deleted meanwhile.
const repoTokenPrefix = "r1:"

func encodeRepoToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(repoTokenPrefix + last))
}

func decodeRepoToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	name, ok := strings.CutPrefix(string(b), repoTokenPrefix)
	if err != nil || !ok || name == "" {
		return "", invalidNextToken()
	}
	return name, nil
}

func (s *Service) describeRepositories(ctx context.Context, req *Request) (any, error) {
	var in describeRepositoriesInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	out := describeRepositoriesOutput{Repositories: []repositoryJSON{}}
	if len(in.RepositoryNames) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParam("repositoryNames", "maxResults and nextToken can not be used together with repositoryNames")
		}
		seen := map[string]bool{}
		for _, name := range in.RepositoryNames {
			if seen[name] {
				continue
			}
			seen[name] = true
			repo, err := s.core.GetRepository(ctx, name)
			if err != nil {
				return nil, coreError(err)
			}
			out.Repositories = append(out.Repositories, s.repositoryOut(repo))
		}
		return out, nil
	}
	after := ""
	if in.NextToken != nil {
		name, err := decodeRepoToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		after = name
	}
	n := defaultPageSize
	if in.MaxResults != nil {
		n = int(*in.MaxResults)
	}
	repos, err := s.core.ListRepositories(ctx, after, n+1)
	if err != nil {
		return nil, coreError(err)
	}
	if len(repos) > n {
		repos = repos[:n]
		out.NextToken = encodeRepoToken(repos[n-1].Name)
	}
	for _, r := range repos {
		out.Repositories = append(out.Repositories, s.repositoryOut(r))
	}
	return out, nil
}

// DeleteRepository

type deleteRepositoryInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	Force          bool    `json:"force"`
}

func (s *Service) deleteRepository(ctx context.Context, req *Request) (any, error) {
	var in deleteRepositoryInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo, err := s.core.DeleteRepository(ctx, in.RepositoryName, in.Force)
	if err != nil {
		return nil, coreError(err)
	}
	return createRepositoryOutput{Repository: s.repositoryOut(repo)}, nil
}

// PutImageTagMutability

type putImageTagMutabilityInput struct {
	RegistryID                         *string         `json:"registryId"`
	RepositoryName                     string          `json:"repositoryName"`
	ImageTagMutability                 string          `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON `json:"imageTagMutabilityExclusionFilters"`
}

type putImageTagMutabilityOutput struct {
	RegistryID                         string          `json:"registryId"`
	RepositoryName                     string          `json:"repositoryName"`
	ImageTagMutability                 string          `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

func (s *Service) putImageTagMutability(ctx context.Context, req *Request) (any, error) {
	var in putImageTagMutabilityInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	if err := checkMutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters); err != nil {
		return nil, err
	}
	repo, err := s.core.UpdateRepository(ctx, in.RepositoryName, func(rs *registry.RepositorySettings) error {
		rs.ImageTagMutability = in.ImageTagMutability
		rs.MutabilityFilters = filtersIn(in.ImageTagMutabilityExclusionFilters)
		return nil
	})
	if err != nil {
		return nil, coreError(err)
	}
	return putImageTagMutabilityOutput{
		RegistryID: s.opts.AccountID, RepositoryName: repo.Name,
		ImageTagMutability:                 repo.ImageTagMutability,
		ImageTagMutabilityExclusionFilters: filtersOut(repo.MutabilityFilters),
	}, nil
}

// PutImageScanningConfiguration

type putImageScanningConfigurationInput struct {
	RegistryID                 *string            `json:"registryId"`
	RepositoryName             string             `json:"repositoryName"`
	ImageScanningConfiguration scanningConfigJSON `json:"imageScanningConfiguration"`
}

type putImageScanningConfigurationOutput struct {
	RegistryID                 string             `json:"registryId"`
	RepositoryName             string             `json:"repositoryName"`
	ImageScanningConfiguration scanningConfigJSON `json:"imageScanningConfiguration"`
}

func (s *Service) putImageScanningConfiguration(ctx context.Context, req *Request) (any, error) {
	var in putImageScanningConfigurationInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.checkRegistryID(in.RegistryID); err != nil {
		return nil, err
	}
	repo, err := s.core.UpdateRepository(ctx, in.RepositoryName, func(rs *registry.RepositorySettings) error {
		rs.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
		return nil
	})
	if err != nil {
		return nil, coreError(err)
	}
	return putImageScanningConfigurationOutput{
		RegistryID: s.opts.AccountID, RepositoryName: repo.Name,
		ImageScanningConfiguration: scanningConfigJSON{ScanOnPush: repo.ScanOnPush},
	}, nil
}

// Resource tags: TagResource, UntagResource, ListTagsForResource.

// repositoryFromARN returns the repository an ECR repository ARN names. A
// malformed ARN is InvalidParameterException; a well-formed ARN of another
// region or account names a repository that does not exist here.
func (s *Service) repositoryFromARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "ecr" ||
		parts[3] == "" || !isAccountID(parts[4]) || !strings.HasPrefix(parts[5], "repository/") {
		return "", invalidParam("resourceArn", "Invalid ARN")
	}
	name := strings.TrimPrefix(parts[5], "repository/")
	if err := registry.ValidateRepositoryName(name); err != nil {
		return "", invalidParam("resourceArn", "Invalid ARN")
	}
	if parts[3] != s.opts.Region || parts[4] != s.opts.AccountID {
		return "", Errorf("RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", name, parts[4])
	}
	return name, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

type tagResourceInput struct {
	ResourceArn string    `json:"resourceArn"`
	Tags        []tagJSON `json:"tags"`
}

func (s *Service) tagResource(ctx context.Context, req *Request) (any, error) {
	var in tagResourceInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	name, err := s.repositoryFromARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	_, err = s.core.UpdateRepository(ctx, name, func(rs *registry.RepositorySettings) error {
		merged := mergeTags(rs.Tags, in.Tags)
		if len(merged) > maxResourceTags {
			return tooManyTags(in.ResourceArn)
		}
		rs.Tags = merged
		return nil
	})
	if err != nil {
		return nil, coreError(err)
	}
	return struct{}{}, nil
}

type untagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Service) untagResource(ctx context.Context, req *Request) (any, error) {
	var in untagResourceInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	name, err := s.repositoryFromARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		if err := checkTagKey(k); err != nil {
			return nil, err
		}
	}
	_, err = s.core.UpdateRepository(ctx, name, func(rs *registry.RepositorySettings) error {
		rs.Tags = slices.DeleteFunc(rs.Tags, func(t registry.ResourceTag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	if err != nil {
		return nil, coreError(err)
	}
	return struct{}{}, nil
}

type listTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn"`
}

type listTagsForResourceOutput struct {
	Tags []tagJSON `json:"tags"`
}

func (s *Service) listTagsForResource(ctx context.Context, req *Request) (any, error) {
	var in listTagsForResourceInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	name, err := s.repositoryFromARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	repo, err := s.core.GetRepository(ctx, name)
	if err != nil {
		return nil, coreError(err)
	}
	return listTagsForResourceOutput{Tags: tagsOut(repo.Tags)}, nil
}
