package registry

import (
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestManifestCache(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	m := func(s string, size int) *Manifest {
		return &Manifest{Digest: digest.FromString(s), Content: make([]byte, size)}
	}
	t.Run("tag and digest hits", func(t *testing.T) {
		c := newManifestCache(0, 1<<20, clock)
		a := m("a", 10)
		c.put(c.generation(), "r", "v1", a)
		if d, ok := c.tag("r", "v1"); !ok || d != a.Digest {
			t.Fatal("tag miss")
		}
		if got, ok := c.manifest("r", a.Digest); !ok || got != a {
			t.Fatal("manifest miss")
		}
		if _, ok := c.manifest("other", a.Digest); ok {
			t.Fatal("hit across repositories")
		}
	})
	t.Run("fill after invalidation is refused", func(t *testing.T) {
		c := newManifestCache(0, 1<<20, clock)
		gen := c.generation()
		c.forgetTags("r", "v1") // a write lands between the reader's miss and its fill
		c.put(gen, "r", "v1", m("old", 10))
		if _, ok := c.tag("r", "v1"); ok {
			t.Fatal("stale fill accepted")
		}
	})
	t.Run("forget manifest drops its tags", func(t *testing.T) {
		c := newManifestCache(0, 1<<20, clock)
		a := m("a", 10)
		c.put(c.generation(), "r", "v1", a)
		c.forgetManifest("r", a.Digest)
		if _, ok := c.tag("r", "v1"); ok {
			t.Fatal("tag survived")
		}
		if _, ok := c.manifest("r", a.Digest); ok || c.bytes != 0 {
			t.Fatalf("manifest survived, bytes %d", c.bytes)
		}
	})
	t.Run("forget repository", func(t *testing.T) {
		c := newManifestCache(0, 1<<20, clock)
		c.put(c.generation(), "r", "v1", m("a", 10))
		c.put(c.generation(), "s", "v1", m("b", 10))
		c.forgetRepository("r")
		if _, ok := c.tag("r", "v1"); ok {
			t.Fatal("r survived")
		}
		if _, ok := c.tag("s", "v1"); !ok {
			t.Fatal("s dropped")
		}
	})
	t.Run("ttl", func(t *testing.T) {
		c := newManifestCache(time.Second, 1<<20, clock)
		c.put(c.generation(), "r", "v1", m("a", 10))
		now = now.Add(2 * time.Second)
		if _, ok := c.tag("r", "v1"); ok {
			t.Fatal("expired entry served")
		}
	})
	t.Run("budget", func(t *testing.T) {
		c := newManifestCache(0, 16*1024, clock)
		for i := range 100 {
			c.put(c.generation(), "r", "", m(string(rune('a'+i)), 500))
		}
		if c.bytes > c.budget || len(c.manifests) == 0 {
			t.Fatalf("bytes %d over budget %d (%d entries)", c.bytes, c.budget, len(c.manifests))
		}
		c.put(c.generation(), "r", "", m("huge", 8*1024)) // over budget/16: not cached
		if _, ok := c.manifest("r", digest.FromString("huge")); ok {
			t.Fatal("oversized manifest cached")
		}
	})
}
