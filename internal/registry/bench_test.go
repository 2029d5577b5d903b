package registry_test

import (
	"context"
	"testing"

	"github.com/berth-registry/berth/internal/registry"
)

// BenchmarkGetManifestByTag is the pull hot path: a tag resolved to a cached manifest.
func BenchmarkGetManifestByTag(b *testing.B) {
	r, _ := newCoreB(b)
	ctx := context.Background()
	pushImageB(b, r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.GetManifest(ctx, "team/app", "v1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkValidateRepositoryName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := registry.ValidateRepositoryName("team/some-service.api_v2"); err != nil {
			b.Fatal(err)
		}
	}
}
