package registry

import (
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// manifestCache keeps the manifest GET hot path off the metadata store: tag
// resolutions and manifests by digest, per repository. This node's writes
// invalidate what they change; entries written by other nodes (shared
// PostgreSQL) are bounded by a TTL. Memory is bounded by a byte budget.
type manifestCache struct {
	ttl    time.Duration // 0: entries never expire (single node)
	budget int64
	now    func() time.Time

	mu sync.RWMutex
	// gen counts invalidations. A reader that missed notes gen before its
	// store read and may fill the cache only if no invalidation happened
	// since; otherwise a value read before a write could outlive the write.
	gen       uint64
	tags      map[tagKey]tagEntry
	manifests map[manifestKey]manifestEntry
	bytes     int64
}

type tagKey struct{ repo, tag string }

type manifestKey struct {
	repo   string
	digest digest.Digest
}

type tagEntry struct {
	digest  digest.Digest
	expires time.Time
}

type manifestEntry struct {
	m       *Manifest
	expires time.Time
}

// cacheSize is what a cached manifest counts against the byte budget: its
// content plus a rough allowance for the entry around it.
func cacheSize(m *Manifest) int64 { return int64(len(m.Content)) + 256 }

func newManifestCache(ttl time.Duration, budget int64, now func() time.Time) *manifestCache {
	return &manifestCache{
		ttl: ttl, budget: budget, now: now,
		tags:      make(map[tagKey]tagEntry),
		manifests: make(map[manifestKey]manifestEntry),
	}
}

func (c *manifestCache) live(expires time.Time) bool {
	return c.ttl == 0 || c.now().Before(expires)
}

func (c *manifestCache) tag(repo, tag string) (digest.Digest, bool) {
	c.mu.RLock()
	e, ok := c.tags[tagKey{repo, tag}]
	c.mu.RUnlock()
	if !ok || !c.live(e.expires) {
		return "", false
	}
	return e.digest, true
}

func (c *manifestCache) manifest(repo string, d digest.Digest) (*Manifest, bool) {
	c.mu.RLock()
	e, ok := c.manifests[manifestKey{repo, d}]
	c.mu.RUnlock()
	if !ok || !c.live(e.expires) {
		return nil, false
	}
	return e.m, true
}

// generation returns the invalidation count to pass to put.
func (c *manifestCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches a manifest and, when tag is not empty, the tag resolving to it,
// unless something was invalidated since gen. Cached manifests are shared
// read-only.
func (c *manifestCache) put(gen uint64, repo, tag string, m *Manifest) {
	size := cacheSize(m)
	if size > c.budget/16 {
		return // one huge manifest must not flush everything else
	}
	expires := c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	mk := manifestKey{repo, m.Digest}
	if _, ok := c.manifests[mk]; !ok {
		for c.bytes+size > c.budget && len(c.manifests) > 0 {
			c.evictOneLocked()
		}
		c.bytes += size
	}
	c.manifests[mk] = manifestEntry{m: m, expires: expires}
	if tag != "" {
		c.tags[tagKey{repo, tag}] = tagEntry{digest: m.Digest, expires: expires}
	}
}

// evictOneLocked drops an arbitrary manifest (map order is random enough
// for a cache whose misses cost one indexed query).
func (c *manifestCache) evictOneLocked() {
	for k, e := range c.manifests {
		c.bytes -= cacheSize(e.m)
		delete(c.manifests, k)
		return
	}
}

func (c *manifestCache) forgetTags(repo string, tags ...string) {
	c.mu.Lock()
	c.gen++
	for _, t := range tags {
		delete(c.tags, tagKey{repo, t})
	}
	c.mu.Unlock()
}

// forgetManifest drops a manifest and every cached tag resolving to it.
func (c *manifestCache) forgetManifest(repo string, d digest.Digest) {
	c.mu.Lock()
	c.gen++
	if e, ok := c.manifests[manifestKey{repo, d}]; ok {
		c.bytes -= cacheSize(e.m)
		delete(c.manifests, manifestKey{repo, d})
	}
	for k, e := range c.tags {
		if k.repo == repo && e.digest == d {
			delete(c.tags, k)
		}
	}
	c.mu.Unlock()
}

// forgetRepository drops everything cached for a repository.
func (c *manifestCache) forgetRepository(repo string) {
	c.mu.Lock()
	c.gen++
	for k, e := range c.manifests {
		if k.repo == repo {
			c.bytes -= cacheSize(e.m)
			delete(c.manifests, k)
		}
	}
	for k := range c.tags {
		if k.repo == repo {
			delete(c.tags, k)
		}
	}
	c.mu.Unlock()
}
