package oci

import (
	"context"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The principal slot lets an Authorize hook tell the handler who the caller
// is (the hook returns only an error): the handler puts an empty slot in
// every request's context, and the hook fills it with SetPrincipal.

type principalKey struct{}

type principalSlot struct {
	mu  sync.Mutex
	arn string
}

func withPrincipalSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, principalKey{}, &principalSlot{})
}

// SetPrincipal records the authenticated caller's ARN for the request whose
// context ctx is; an Authorize hook calls it. Outside the handler it does
// nothing.
func SetPrincipal(ctx context.Context, arn string) {
	if s, ok := ctx.Value(principalKey{}).(*principalSlot); ok {
		s.mu.Lock()
		s.arn = arn
		s.mu.Unlock()
	}
}

// PrincipalARN returns the ARN SetPrincipal recorded, or "".
func PrincipalARN(ctx context.Context) string {
	if s, ok := ctx.Value(principalKey{}).(*principalSlot); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.arn
	}
	return ""
}

// principalPullRecorder is a core that honours pull-time update exclusions
// (registry.Registry.RecordPullBy).
type principalPullRecorder interface {
	RecordPullBy(repo string, dgst digest.Digest, principalARN string)
}

// recordPull notes a manifest pull by the request's principal.
func (h *handler) recordPull(ctx context.Context, repo string, dgst digest.Digest) {
	if c, ok := h.core.(principalPullRecorder); ok {
		c.RecordPullBy(repo, dgst, PrincipalARN(ctx))
		return
	}
	h.core.RecordPull(repo, dgst)
}
