package ecrapi

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

const templateLifecyclePolicy = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`

func TestRepositoryCreationTemplatesSDK(t *testing.T) {
	e := newTestEnv(t) // no create-on-push
	ctx := context.Background()
	c := e.Client

	created, err := c.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix:             aws.String("team"),
		Description:        aws.String("team repositories"),
		AppliedFor:         []types.RCTAppliedFor{types.RCTAppliedForCreateOnPush, types.RCTAppliedForReplication},
		ImageTagMutability: types.ImageTagMutabilityImmutable,
		ResourceTags:       []types.Tag{{Key: aws.String("owner"), Value: aws.String("team")}},
		LifecyclePolicy:    aws.String(templateLifecyclePolicy),
		CustomRoleArn:      aws.String("arn:aws:iam::" + testAccount + ":role/ecr-templates"),
	})
	if err != nil {
		t.Fatalf("CreateRepositoryCreationTemplate: %v", err)
	}
	tmpl := created.RepositoryCreationTemplate
	if aws.ToString(created.RegistryId) != testAccount || aws.ToString(tmpl.Prefix) != "team" || tmpl.ImageTagMutability != types.ImageTagMutabilityImmutable ||
		len(tmpl.AppliedFor) != 2 || aws.ToString(tmpl.LifecyclePolicy) != templateLifecyclePolicy || tmpl.CreatedAt == nil ||
		tmpl.EncryptionConfiguration == nil || tmpl.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Fatalf("created template = %+v", tmpl)
	}

	_, err = c.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix: aws.String("team"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForCreateOnPush},
	})
	var exists *types.TemplateAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate create: %v, want TemplateAlreadyExistsException", err)
	}
	_, err = c.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix: aws.String("bad"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForCreateOnPush},
		LifecyclePolicy: aws.String(`{"rules":[]}`),
	})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("bad lifecycle policy: %v, want InvalidParameterException", err)
	}
	if _, err := c.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix: aws.String("ROOT"), AppliedFor: []types.RCTAppliedFor{types.RCTAppliedForPullThroughCache},
	}); err != nil {
		t.Fatalf("create ROOT: %v", err)
	}

	desc, err := c.DescribeRepositoryCreationTemplates(ctx, &ecr.DescribeRepositoryCreationTemplatesInput{})
	if err != nil || len(desc.RepositoryCreationTemplates) != 2 || aws.ToString(desc.RepositoryCreationTemplates[0].Prefix) != "ROOT" {
		t.Fatalf("describe all: %+v, %v", desc, err)
	}
	page, err := c.DescribeRepositoryCreationTemplates(ctx, &ecr.DescribeRepositoryCreationTemplatesInput{MaxResults: aws.Int32(1)})
	if err != nil || len(page.RepositoryCreationTemplates) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page, err = c.DescribeRepositoryCreationTemplates(ctx, &ecr.DescribeRepositoryCreationTemplatesInput{MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page.RepositoryCreationTemplates) != 1 || aws.ToString(page.RepositoryCreationTemplates[0].Prefix) != "team" || page.NextToken != nil {
		t.Fatalf("second page: %+v, %v", page, err)
	}
	desc, err = c.DescribeRepositoryCreationTemplates(ctx, &ecr.DescribeRepositoryCreationTemplatesInput{Prefixes: []string{"team", "nope"}})
	if err != nil || len(desc.RepositoryCreationTemplates) != 1 {
		t.Fatalf("describe by prefix: %+v, %v", desc, err)
	}

	updated, err := c.UpdateRepositoryCreationTemplate(ctx, &ecr.UpdateRepositoryCreationTemplateInput{
		Prefix: aws.String("team"), ImageTagMutability: types.ImageTagMutabilityMutable,
	})
	if err != nil || updated.RepositoryCreationTemplate.ImageTagMutability != types.ImageTagMutabilityMutable ||
		aws.ToString(updated.RepositoryCreationTemplate.Description) != "team repositories" {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	_, err = c.UpdateRepositoryCreationTemplate(ctx, &ecr.UpdateRepositoryCreationTemplateInput{Prefix: aws.String("nope")})
	var missing *types.TemplateNotFoundException
	if !errors.As(err, &missing) {
		t.Fatalf("update missing: %v, want TemplateNotFoundException", err)
	}

	// A push to a missing repository under the CREATE_ON_PUSH template
	// creates it with the template's settings; ROOT is only for pull-through
	// cache, so other names are still refused.
	e.pushImage(t, "team/app", "v1", "one")
	repos, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app"}})
	if err != nil || len(repos.Repositories) != 1 || repos.Repositories[0].ImageTagMutability != types.ImageTagMutabilityMutable {
		t.Fatalf("repository from template: %+v, %v", repos, err)
	}
	tags, err := c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repos.Repositories[0].RepositoryArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" {
		t.Fatalf("tags from template: %+v, %v", tags, err)
	}
	lp, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("team/app")})
	if err != nil || aws.ToString(lp.LifecyclePolicyText) != templateLifecyclePolicy {
		t.Fatalf("lifecycle policy from template: %+v, %v", lp, err)
	}
	if _, err := e.Core.StartUpload(ctx, "elsewhere"); err == nil {
		t.Fatal("push outside every CREATE_ON_PUSH template created a repository")
	}

	deleted, err := c.DeleteRepositoryCreationTemplate(ctx, &ecr.DeleteRepositoryCreationTemplateInput{Prefix: aws.String("team")})
	if err != nil || aws.ToString(deleted.RepositoryCreationTemplate.Prefix) != "team" {
		t.Fatalf("delete: %+v, %v", deleted, err)
	}
	_, err = c.DeleteRepositoryCreationTemplate(ctx, &ecr.DeleteRepositoryCreationTemplateInput{Prefix: aws.String("team")})
	if !errors.As(err, &missing) {
		t.Fatalf("delete missing: %v, want TemplateNotFoundException", err)
	}
}
