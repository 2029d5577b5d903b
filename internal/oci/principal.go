package oci

import (
	"github.com/opencontainers/go-digest"
)

// principalPullRecorder is a core that honours pull-time update exclusions
// (registry.Registry.RecordPullBy).
type principalPullRecorder interface {
	RecordPullBy(repo string, dgst digest.Digest, principalARN string)
}

// recordPull notes a manifest pull by the caller's principal.
func (h *handler) recordPull(repo string, dgst digest.Digest, principalARN string) {
	if c, ok := h.core.(principalPullRecorder); ok {
		c.RecordPullBy(repo, dgst, principalARN)
		return
	}
	h.core.RecordPull(repo, dgst)
}
