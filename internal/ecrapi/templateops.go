package ecrapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-registry/berth/internal/registry"
)

// registerTemplateOps registers the repository creation template operations.
func (s *Service) registerTemplateOps(d *Dispatcher) {
	d.Register("CreateRepositoryCreationTemplate", s.createTemplate)
	d.Register("DescribeRepositoryCreationTemplates", s.describeTemplates)
	d.Register("UpdateRepositoryCreationTemplate", s.updateTemplate)
	d.Register("DeleteRepositoryCreationTemplate", s.deleteTemplate)
}

// templateJSON is the model's RepositoryCreationTemplate.
type templateJSON struct {
	Prefix                             string                `json:"prefix"`
	Description                        string                `json:"description,omitempty"`
	EncryptionConfiguration            *encryptionConfigJSON `json:"encryptionConfiguration,omitempty"`
	ResourceTags                       []tagJSON             `json:"resourceTags"`
	ImageTagMutability                 string                `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON       `json:"imageTagMutabilityExclusionFilters,omitempty"`
	RepositoryPolicy                   string                `json:"repositoryPolicy,omitempty"`
	LifecyclePolicy                    string                `json:"lifecyclePolicy,omitempty"`
	AppliedFor                         []string              `json:"appliedFor"`
	CustomRoleArn                      string                `json:"customRoleArn,omitempty"`
	CreatedAt                          EpochTime             `json:"createdAt"`
	UpdatedAt                          EpochTime             `json:"updatedAt"`
}

func templateOut(t *registry.CreationTemplate) templateJSON {
	return templateJSON{
		Prefix:                             t.Prefix,
		Description:                        t.Description,
		EncryptionConfiguration:            &encryptionConfigJSON{EncryptionType: t.EncryptionType, KMSKey: t.KMSKey},
		ResourceTags:                       tagsOut(t.ResourceTags),
		ImageTagMutability:                 t.ImageTagMutability,
		ImageTagMutabilityExclusionFilters: filtersOut(t.MutabilityFilters),
		RepositoryPolicy:                   t.RepositoryPolicy,
		LifecyclePolicy:                    t.LifecyclePolicy,
		AppliedFor:                         t.AppliedFor,
		CustomRoleArn:                      t.CustomRoleARN,
		CreatedAt:                          EpochTime(t.CreatedAt),
		UpdatedAt:                          EpochTime(t.UpdatedAt),
	}
}

// templateInput is CreateRepositoryCreationTemplateRequest and
// UpdateRepositoryCreationTemplateRequest; nil means "not given".
type templateInput struct {
	Prefix                             string                `json:"prefix"`
	Description                        *string               `json:"description"`
	EncryptionConfiguration            *encryptionConfigJSON `json:"encryptionConfiguration"`
	ResourceTags                       []tagJSON             `json:"resourceTags"`
	ImageTagMutability                 *string               `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []tagFilterJSON       `json:"imageTagMutabilityExclusionFilters"`
	RepositoryPolicy                   *string               `json:"repositoryPolicy"`
	LifecyclePolicy                    *string               `json:"lifecyclePolicy"`
	AppliedFor                         []string              `json:"appliedFor"`
	CustomRoleArn                      *string               `json:"customRoleArn"`
}

// apply copies the given fields of in onto t.
func (in *templateInput) apply(t *registry.CreationTemplate) error {
	if in.Description != nil {
		t.Description = *in.Description
	}
	if ec := in.EncryptionConfiguration; ec != nil {
		if ec.EncryptionType == "AES256" && ec.KMSKey != "" {
			return invalidParam("encryptionConfiguration", "kmsKey can only be specified when encryptionType is KMS or KMS_DSSE")
		}
		t.EncryptionType, t.KMSKey = ec.EncryptionType, ec.KMSKey
	}
	if in.ResourceTags != nil {
		if len(in.ResourceTags) > maxResourceTags {
			return invalidParam("resourceTags", fmt.Sprintf("at most %d tags", maxResourceTags))
		}
		if err := checkTags(in.ResourceTags); err != nil {
			return err
		}
		t.ResourceTags = mergeTags(nil, in.ResourceTags)
	}
	if in.ImageTagMutability != nil {
		t.ImageTagMutability = *in.ImageTagMutability
		if err := checkMutability(t.ImageTagMutability, in.ImageTagMutabilityExclusionFilters); err != nil {
			return err
		}
		t.MutabilityFilters = filtersIn(in.ImageTagMutabilityExclusionFilters)
	}
	if in.RepositoryPolicy != nil {
		t.RepositoryPolicy = *in.RepositoryPolicy
	}
	if in.LifecyclePolicy != nil {
		t.LifecyclePolicy = *in.LifecyclePolicy
	}
	if in.AppliedFor != nil {
		t.AppliedFor = in.AppliedFor
	}
	if in.CustomRoleArn != nil {
		t.CustomRoleARN = *in.CustomRoleArn
	}
	return nil
}

type templateOutput struct {
	RegistryID                 string       `json:"registryId"`
	RepositoryCreationTemplate templateJSON `json:"repositoryCreationTemplate"`
}

// templateError names ECR's template exceptions.
func templateError(err error) error {
	var ce *registry.Error
	if errors.As(err, &ce) {
		switch {
		case errors.Is(err, registry.ErrTemplateExists):
			return Errorf("TemplateAlreadyExistsException", "%s", ce.Message)
		case errors.Is(err, registry.ErrTemplateNotFound):
			return Errorf("TemplateNotFoundException", "%s", ce.Message)
		case registry.IsTemplateLimit(err):
			return Errorf("LimitExceededException", "%s", ce.Message)
		}
	}
	return coreError(err)
}

func (s *Service) createTemplate(ctx context.Context, req *Request) (any, error) {
	var in templateInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	t := registry.CreationTemplate{Prefix: in.Prefix}
	if err := in.apply(&t); err != nil {
		return nil, err
	}
	if t.ImageTagMutability == "" {
		if err := checkMutability(registry.TagMutable, in.ImageTagMutabilityExclusionFilters); err != nil {
			return nil, err
		}
	}
	got, err := s.core.CreateCreationTemplate(ctx, t)
	if err != nil {
		return nil, templateError(err)
	}
	return templateOutput{RegistryID: s.opts.AccountID, RepositoryCreationTemplate: templateOut(got)}, nil
}

func (s *Service) updateTemplate(ctx context.Context, req *Request) (any, error) {
	var in templateInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	var applyErr error
	got, err := s.core.UpdateCreationTemplate(ctx, in.Prefix, func(t *registry.CreationTemplate) error {
		applyErr = in.apply(t)
		return applyErr
	})
	if applyErr != nil {
		return nil, applyErr
	}
	if err != nil {
		return nil, templateError(err)
	}
	return templateOutput{RegistryID: s.opts.AccountID, RepositoryCreationTemplate: templateOut(got)}, nil
}

type deleteTemplateInput struct {
	Prefix string `json:"prefix"`
}

func (s *Service) deleteTemplate(ctx context.Context, req *Request) (any, error) {
	var in deleteTemplateInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	got, err := s.core.DeleteCreationTemplate(ctx, in.Prefix)
	if err != nil {
		return nil, templateError(err)
	}
	return templateOutput{RegistryID: s.opts.AccountID, RepositoryCreationTemplate: templateOut(got)}, nil
}

type describeTemplatesInput struct {
	Prefixes   []string `json:"prefixes"`
	NextToken  *string  `json:"nextToken"`
	MaxResults *int32   `json:"maxResults"`
}

type describeTemplatesOutput struct {
	RegistryID                  string         `json:"registryId"`
	RepositoryCreationTemplates []templateJSON `json:"repositoryCreationTemplates"`
	NextToken                   string         `json:"nextToken,omitempty"`
}

const templateTokenPrefix = "t1:"

func (s *Service) describeTemplates(ctx context.Context, req *Request) (any, error) {
	var in describeTemplatesInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	out := describeTemplatesOutput{RegistryID: s.opts.AccountID, RepositoryCreationTemplates: []templateJSON{}}
	if len(in.Prefixes) > 0 {
		if in.NextToken != nil {
			return nil, invalidParam("nextToken", "nextToken cannot be specified together with prefixes")
		}
		for _, p := range in.Prefixes {
			t, err := s.core.GetCreationTemplate(ctx, p)
			if errors.Is(err, registry.ErrTemplateNotFound) {
				continue
			}
			if err != nil {
				return nil, templateError(err)
			}
			out.RepositoryCreationTemplates = append(out.RepositoryCreationTemplates, templateOut(t))
		}
		return out, nil
	}
	limit := defaultPageSize
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		p, ok := strings.CutPrefix(string(b), templateTokenPrefix)
		if err != nil || !ok || p == "" {
			return nil, invalidNextToken()
		}
		after = p
	}
	ts, err := s.core.ListCreationTemplates(ctx, after, limit+1)
	if err != nil {
		return nil, templateError(err)
	}
	if len(ts) > limit {
		ts = ts[:limit]
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(templateTokenPrefix + ts[len(ts)-1].Prefix))
	}
	for _, t := range ts {
		out.RepositoryCreationTemplates = append(out.RepositoryCreationTemplates, templateOut(t))
	}
	return out, nil
}
