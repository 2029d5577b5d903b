package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

const testLifecyclePolicy = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`

const testRepositoryPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"all","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}`

func TestCreationTemplateCRUD(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	tmpl := registry.CreationTemplate{Prefix: "team/", AppliedFor: []string{registry.AppliedCreateOnPush}}
	got, err := r.CreateCreationTemplate(ctx, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if got.Prefix != "team" || got.ImageTagMutability != registry.TagMutable || got.CreatedAt.IsZero() {
		t.Fatalf("created %+v", got)
	}
	if _, err := r.CreateCreationTemplate(ctx, tmpl); !errors.Is(err, registry.ErrTemplateExists) {
		t.Fatalf("second create: %v, want ErrTemplateExists", err)
	}
	up, err := r.UpdateCreationTemplate(ctx, "team", func(t *registry.CreationTemplate) error {
		t.ImageTagMutability = registry.TagImmutable
		return nil
	})
	if err != nil || up.ImageTagMutability != registry.TagImmutable {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if _, err := r.UpdateCreationTemplate(ctx, "nope", func(*registry.CreationTemplate) error { return nil }); !errors.Is(err, registry.ErrTemplateNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	list, err := r.ListCreationTemplates(ctx, "", 0)
	if err != nil || len(list) != 1 || list[0].ImageTagMutability != registry.TagImmutable {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if _, err := r.DeleteCreationTemplate(ctx, "team/"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCreationTemplate(ctx, "team"); !errors.Is(err, registry.ErrTemplateNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := r.DeleteCreationTemplate(ctx, "team"); !errors.Is(err, registry.ErrTemplateNotFound) {
		t.Fatalf("delete deleted: %v", err)
	}
}

func TestPushCreatesRepositoryFromTemplate(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false) // no --create-on-push
	_, err := r.CreateCreationTemplate(ctx, registry.CreationTemplate{
		Prefix: "team", AppliedFor: []string{registry.AppliedCreateOnPush},
		ImageTagMutability: registry.TagImmutable,
		ResourceTags:       []registry.ResourceTag{{Key: "owner", Value: "team"}},
		LifecyclePolicy:    testLifecyclePolicy, RepositoryPolicy: testRepositoryPolicy,
		EncryptionType: "KMS", KMSKey: "arn:aws:kms:us-east-1:123456789012:key/abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateCreationTemplate(ctx, registry.CreationTemplate{Prefix: "cache", AppliedFor: []string{registry.AppliedPullThroughCache}}); err != nil {
		t.Fatal(err)
	}
	// Outside every CREATE_ON_PUSH template: refused as before.
	_, err = r.StartUpload(ctx, "cache/x")
	wantKind(t, err, registry.KindNameUnknown)
	_, err = r.StartUpload(ctx, "other")
	wantKind(t, err, registry.KindNameUnknown)

	pushImage(t, r, "team/app", "v1", "one")
	repo, err := r.GetRepository(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if repo.ImageTagMutability != registry.TagImmutable || repo.EncryptionType != "KMS" || repo.RepositoryPolicy != testRepositoryPolicy ||
		len(repo.Tags) != 1 || repo.Tags[0].Key != "owner" {
		t.Fatalf("repository settings = %+v", repo.RepositorySettings)
	}
	p, err := r.GetLifecyclePolicy(ctx, "team/app")
	if err != nil || p.Text != testLifecyclePolicy {
		t.Fatalf("lifecycle policy = %+v, %v", p, err)
	}
	// The template's mutability is in force.
	_, err = r.PutManifest(ctx, "team/app", "v1", registry.MediaTypeOCIManifest, imageManifest(pushBlob(t, r, "team/app", []byte(`{"c":2}`)), pushBlob(t, r, "team/app", []byte("l2")), 7, 2), nil)
	wantKind(t, err, registry.KindTagImmutable)
}
