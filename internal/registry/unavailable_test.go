package registry_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

func TestUnavailableKinds(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want registry.Kind
		ok   bool
	}{
		{"raw metadata outage", fmt.Errorf("postgres: begin: %w", meta.ErrUnavailable), registry.KindUnavailable, true},
		{"raw blob outage", fmt.Errorf("s3: %w", blob.ErrUnavailable), registry.KindUnavailable, true},
		{"domain error wins", &registry.Error{Kind: registry.KindTagImmutable, Err: meta.ErrUnavailable}, registry.KindTagImmutable, true},
		{"other error", errors.New("boom"), registry.KindInternal, false},
		{"nil", nil, registry.KindInternal, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := registry.KindOf(tc.err); got != tc.want {
				t.Fatalf("KindOf = %v, want %v", got, tc.want)
			}
			e, ok := registry.AsError(tc.err)
			if ok != tc.ok || ok && e.Kind != tc.want {
				t.Fatalf("AsError = %v, %v", e, ok)
			}
			if ok && tc.err != nil && !errors.Is(e, tc.err) && !errors.Is(tc.err, e) {
				t.Fatalf("cause lost: %v", e)
			}
		})
	}
}
