package registry_test

import (
	"context"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

const validRepoPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":["ecr:BatchGetImage"]}]}`

func TestRepositoryPolicyLifecycle(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		text     string
		wantKind registry.Kind // 0: accepted
	}{
		{"valid", validRepoPolicy, 0},
		{"not json", `{`, registry.KindInvalidParameter},
		{"empty", ``, registry.KindInvalidParameter},
		{"no principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}`, registry.KindInvalidParameter},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}]}`, registry.KindInvalidParameter},
		{"action without vendor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"PutImage"}]}`, registry.KindInvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newCore(t, false)
			if _, err := r.CreateRepository(ctx, "app", registry.RepositorySettings{}); err != nil {
				t.Fatal(err)
			}
			_, err := r.SetRepositoryPolicy(ctx, "app", tc.text)
			got, gerr := r.GetRepositoryPolicy(ctx, "app")
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tc.wantKind != 0 {
				wantKind(t, err, tc.wantKind)
				if e, _ := registry.AsError(err); e.Message != "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'" {
					t.Errorf("message %q", e.Message)
				}
				if got != "" {
					t.Errorf("a refused policy was stored: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetRepositoryPolicy: %v", err)
			}
			if got != tc.text {
				t.Errorf("stored %q, want %q", got, tc.text)
			}
			old, err := r.DeleteRepositoryPolicy(ctx, "app")
			if err != nil || old != tc.text {
				t.Fatalf("DeleteRepositoryPolicy = %q, %v", old, err)
			}
			if old, err := r.DeleteRepositoryPolicy(ctx, "app"); err != nil || old != "" {
				t.Fatalf("second DeleteRepositoryPolicy = %q, %v; want none", old, err)
			}
		})
	}
}

func TestRepositoryPolicyUnknownRepository(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	_, err := r.SetRepositoryPolicy(ctx, "nope", validRepoPolicy)
	wantKind(t, err, registry.KindNameUnknown)
	_, err = r.GetRepositoryPolicy(ctx, "nope")
	wantKind(t, err, registry.KindNameUnknown)
	_, err = r.DeleteRepositoryPolicy(ctx, "nope")
	wantKind(t, err, registry.KindNameUnknown)
}

func TestRepositoryPolicyKeepsOtherSettings(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	if _, err := r.CreateRepository(ctx, "app", registry.RepositorySettings{ImageTagMutability: registry.TagImmutable}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetRepositoryPolicy(ctx, "app", validRepoPolicy); err != nil {
		t.Fatal(err)
	}
	repo, err := r.GetRepository(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if repo.ImageTagMutability != registry.TagImmutable || repo.RepositoryPolicy != validRepoPolicy {
		t.Errorf("settings after SetRepositoryPolicy: %+v", repo.RepositorySettings)
	}
}

func TestRegistryPolicyLifecycle(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, false)
	if got, err := r.GetRegistryPolicy(ctx); err != nil || got != "" {
		t.Fatalf("initial GetRegistryPolicy = %q, %v", got, err)
	}
	if old, err := r.DeleteRegistryPolicy(ctx); err != nil || old != "" {
		t.Fatalf("DeleteRegistryPolicy of none = %q, %v", old, err)
	}
	err := r.PutRegistryPolicy(ctx, `{"Statement":[]`)
	wantKind(t, err, registry.KindInvalidParameter)
	if e, _ := registry.AsError(err); e.Message != "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'" {
		t.Errorf("message %q", e.Message)
	}
	if err := r.PutRegistryPolicy(ctx, validRepoPolicy); err != nil {
		t.Fatal(err)
	}
	if got, err := r.GetRegistryPolicy(ctx); err != nil || got != validRepoPolicy {
		t.Fatalf("GetRegistryPolicy = %q, %v", got, err)
	}
	// A refused write leaves the stored policy as it was.
	wantKind(t, r.PutRegistryPolicy(ctx, `nope`), registry.KindInvalidParameter)
	if got, _ := r.GetRegistryPolicy(ctx); got != validRepoPolicy {
		t.Fatalf("refused write changed the policy to %q", got)
	}
	if old, err := r.DeleteRegistryPolicy(ctx); err != nil || old != validRepoPolicy {
		t.Fatalf("DeleteRegistryPolicy = %q, %v", old, err)
	}
	if got, err := r.GetRegistryPolicy(ctx); err != nil || got != "" {
		t.Fatalf("GetRegistryPolicy after delete = %q, %v", got, err)
	}
}
