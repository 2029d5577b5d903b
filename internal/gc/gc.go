// Package gc is Berth's online garbage collector. It reclaims blob bytes that
// nothing references any more while pushes and pulls continue: there is no
// read-only window and no lock held across the registry.
//
// # What is garbage
//
// The metadata store is the source of truth. A blob link (a blob made
// visible in a repository, repository_blobs) is garbage when no manifest of
// that repository references the blob and the link is older than the grace
// period: an upload links its blob at once, and the push's manifest must
// follow within the grace period (default 24 h, the upload TTL). A blob is
// garbage when no repository links it, no manifest references it, and its row
// is older than the grace period. Deleting an image (manifest) therefore
// leaves links that turn into garbage after the grace period; deleting a
// repository removes its links at once, and the blobs no other repository
// uses are reclaimed on the next run.
//
// Manifests are never collected: in ECR an untagged image stays listed (and
// pullable by digest) until someone deletes it or a lifecycle policy expires
// it. Manifests live in the metadata store, so they hold no blob bytes of
// their own.
//
// # Why a manifest never references missing bytes
//
// A blob's row is deleted in one transaction that re-checks "unreferenced,
// unlinked and old" (meta.GCQueries.DeleteGarbageBlob) and writes a DELETING
// tombstone; only after it commits are the bytes deleted, and then the
// tombstone turns DELETED. Every way to reference a blob needs its row inside
// a transaction: PutManifest needs the repository link (which needs the row,
// a foreign key), a mount needs the row or a link. A transaction that runs
// after the deletion does not find the row and the client uploads again; one
// that runs before it adds a link or reference, and the deletion's re-check
// then finds the blob in use. The one path that writes a row rather than
// needing one, recording freshly committed bytes, checks the tombstone in its
// transaction (registry.checkCollectedBlob): DELETING refuses, DELETED checks
// the bytes are really there. Orphan bytes (committed but never recorded: a
// crash between the rename and the metadata transaction) are deleted under
// the same tombstone protocol.
//
// A crash between the row deletion and the byte deletion leaves a DELETING
// tombstone, which the next run finishes first.
package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// Defaults.
const (
	DefaultGracePeriod = 24 * time.Hour
	// DefaultTombstoneRetention is how long a DELETED tombstone is kept. It
	// must outlast the time between a push committing bytes and recording
	// them, which is one request.
	DefaultTombstoneRetention = time.Hour
	batchSize                 = 200
)

// Config tunes the collector.
type Config struct {
	// Interval between runs for Run; <= 0 disables Run.
	Interval time.Duration
	// GracePeriod: how old an unreferenced link or blob must be to be
	// collected. Negative means DefaultGracePeriod; zero collects at once
	// (tests only).
	GracePeriod time.Duration
	// TombstoneRetention: how long DELETED tombstones are kept (default 1 h).
	TombstoneRetention time.Duration
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

// Walker is implemented by blob stores that can list their blobs (the
// filesystem store). The collector uses it only to find orphan bytes.
type Walker interface {
	WalkBlobs(ctx context.Context, fn func(dgst digest.Digest, size int64, modTime time.Time) error) error
}

// Stats reports one run.
type Stats struct {
	Links          int   // blob links removed
	Blobs          int   // blobs (rows and bytes) removed
	Orphans        int   // orphan byte files removed
	ReclaimedBytes int64 // bytes deleted from the blob store
}

// Collector collects garbage. It is safe to run on several nodes at once:
// every deletion re-checks its condition in a transaction.
type Collector struct {
	meta  meta.Store
	blobs blob.Store
	cfg   Config
	log   *slog.Logger

	reclaimed prometheus.Counter
	deleted   *prometheus.CounterVec
	runs      *prometheus.CounterVec
}

// New builds a collector. reg may be nil (no metrics registered).
func New(m meta.Store, b blob.Store, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Collector, error) {
	if cfg.GracePeriod < 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.TombstoneRetention <= 0 {
		cfg.TombstoneRetention = DefaultTombstoneRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	c := &Collector{
		meta: m, blobs: b, cfg: cfg, log: log.With("component", "gc"),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_gc_reclaimed_bytes_total", Help: "Bytes deleted from the blob store by garbage collection.",
		}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_gc_deleted_total", Help: "Objects removed by garbage collection, by kind (link, blob, orphan).",
		}, []string{"kind"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_gc_runs_total", Help: "Garbage collection runs, by result (ok, error).",
		}, []string{"result"}),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{c.reclaimed, c.deleted, c.runs} {
			if err := reg.Register(col); err != nil {
				return nil, fmt.Errorf("gc: register metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Run collects at once (finishing deletions a crash interrupted, which
// otherwise refuse pushes of those digests) and then every Interval until
// ctx is done. Errors are logged; the next run retries.
func (c *Collector) Run(ctx context.Context) {
	if c.cfg.Interval <= 0 {
		return
	}
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "garbage collection failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce runs one full collection.
func (c *Collector) RunOnce(ctx context.Context) (Stats, error) {
	var st Stats
	start := c.cfg.Now()
	err := c.runOnce(ctx, &st)
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.runs.WithLabelValues(result).Inc()
	if st != (Stats{}) || err != nil {
		c.log.InfoContext(ctx, "garbage collection", "links", st.Links, "blobs", st.Blobs, "orphans", st.Orphans,
			"reclaimed_bytes", st.ReclaimedBytes, "duration", c.cfg.Now().Sub(start).String(), "ok", err == nil)
	}
	return st, err
}

func (c *Collector) runOnce(ctx context.Context, st *Stats) error {
	// 1. Finish deletions a crash (or another node) left half done.
	if err := c.finishPending(ctx, st); err != nil {
		return err
	}
	cutoff := c.cfg.Now().Add(-c.cfg.GracePeriod)
	// 2. Links no manifest of their repository references.
	if err := c.collectLinks(ctx, cutoff, st); err != nil {
		return err
	}
	// 3. Blobs nothing links or references.
	if err := c.collectBlobs(ctx, cutoff, st); err != nil {
		return err
	}
	// 4. Bytes without a row.
	if err := c.collectOrphans(ctx, cutoff, st); err != nil {
		return err
	}
	// 5. Forget old tombstones.
	if _, err := c.meta.PruneBlobDeletions(ctx, c.cfg.Now().Add(-c.cfg.TombstoneRetention)); err != nil {
		return fmt.Errorf("gc: prune tombstones: %w", err)
	}
	return nil
}

func (c *Collector) finishPending(ctx context.Context, st *Stats) error {
	var after digest.Digest
	for {
		pending, err := c.meta.ListBlobDeletions(ctx, meta.BlobDeleting, after, batchSize)
		if err != nil {
			return fmt.Errorf("gc: list pending deletions: %w", err)
		}
		for i := range pending {
			d := pending[i]
			if err := c.deleteBytes(ctx, &d, "blob"); err != nil {
				return err
			}
			st.Blobs++
			st.ReclaimedBytes += d.Size
		}
		if len(pending) < batchSize {
			return nil
		}
		after = pending[len(pending)-1].Digest
	}
}

func (c *Collector) collectLinks(ctx context.Context, cutoff time.Time, st *Stats) error {
	var afterRepo string
	var afterDigest digest.Digest
	for {
		links, err := c.meta.ListGarbageLinks(ctx, cutoff, afterRepo, afterDigest, batchSize)
		if err != nil {
			return fmt.Errorf("gc: list garbage links: %w", err)
		}
		for _, l := range links {
			ok, err := c.meta.DeleteGarbageLink(ctx, l.Repository, l.Digest, cutoff)
			if err != nil {
				return fmt.Errorf("gc: delete link %s in %s: %w", l.Digest, l.Repository, err)
			}
			if ok {
				st.Links++
				c.deleted.WithLabelValues("link").Inc()
				c.log.DebugContext(ctx, "blob link collected", "repository", l.Repository, "digest", l.Digest)
			}
		}
		if len(links) < batchSize {
			return nil
		}
		afterRepo, afterDigest = links[len(links)-1].Repository, links[len(links)-1].Digest
	}
}

func (c *Collector) collectBlobs(ctx context.Context, cutoff time.Time, st *Stats) error {
	var after digest.Digest
	for {
		blobs, err := c.meta.ListGarbageBlobs(ctx, cutoff, after, batchSize)
		if err != nil {
			return fmt.Errorf("gc: list garbage blobs: %w", err)
		}
		for _, b := range blobs {
			d := &meta.BlobDeletion{Digest: b.Digest, Size: b.Size, State: meta.BlobDeleting, StartedAt: c.cfg.Now()}
			deleted := false
			err := c.meta.InTx(ctx, func(q meta.Queries) error {
				ok, err := q.DeleteGarbageBlob(ctx, b.Digest, cutoff)
				if err != nil || !ok {
					deleted = false
					return err
				}
				deleted = true
				return q.PutBlobDeletion(ctx, d)
			})
			if err != nil {
				return fmt.Errorf("gc: delete blob %s: %w", b.Digest, err)
			}
			if !deleted {
				continue // referenced again meanwhile
			}
			if err := c.deleteBytes(ctx, d, "blob"); err != nil {
				return err
			}
			st.Blobs++
			st.ReclaimedBytes += d.Size
		}
		if len(blobs) < batchSize {
			return nil
		}
		after = blobs[len(blobs)-1].Digest
	}
}

// deleteBytes deletes a tombstoned blob's bytes and marks the tombstone DELETED.
func (c *Collector) deleteBytes(ctx context.Context, d *meta.BlobDeletion, kind string) error {
	if err := c.blobs.Delete(ctx, d.Digest); err != nil {
		return fmt.Errorf("gc: delete bytes of %s: %w", d.Digest, err)
	}
	done := *d
	done.State, done.FinishedAt = meta.BlobDeleted, c.cfg.Now()
	if err := c.meta.PutBlobDeletion(ctx, &done); err != nil {
		return fmt.Errorf("gc: finish deletion of %s: %w", d.Digest, err)
	}
	c.reclaimed.Add(float64(d.Size))
	c.deleted.WithLabelValues(kind).Inc()
	c.log.DebugContext(ctx, "blob bytes collected", "kind", kind, "digest", d.Digest, "size", d.Size)
	return nil
}

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

func (c *Collector) collectOrphans(ctx context.Context, cutoff time.Time, st *Stats) error {
	w, ok := c.blobs.(Walker)
	if !ok {
		return nil
	}
	// Gather candidates first: deleting while walking a directory is fine on
	// POSIX, but keeping the walk free of writes keeps it simple.
	type orphan struct {
		d    digest.Digest
		size int64
	}
	var candidates []orphan
	err := w.WalkBlobs(ctx, func(d digest.Digest, size int64, mod time.Time) error {
		if !mod.Before(cutoff) {
			return nil
		}
		if _, err := c.meta.GetBlob(ctx, d); !errors.Is(err, meta.ErrNotFound) {
			return err // known (or a failure)
		}
		candidates = append(candidates, orphan{d, size})
		if len(candidates) >= 10*batchSize {
			return errStop // the rest next run
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("gc: walk blob store: %w", err)
	}
	for _, o := range candidates {
		d := &meta.BlobDeletion{Digest: o.d, Size: o.size, State: meta.BlobDeleting, StartedAt: c.cfg.Now()}
		orphaned := false
		err := c.meta.InTx(ctx, func(q meta.Queries) error {
			orphaned = false
			if _, err := q.GetBlob(ctx, o.d); !errors.Is(err, meta.ErrNotFound) {
				return err // recorded meanwhile
			}
			orphaned = true
			return q.PutBlobDeletion(ctx, d)
		})
		if err != nil {
			return fmt.Errorf("gc: tombstone orphan %s: %w", o.d, err)
		}
		if !orphaned {
			continue
		}
		if err := c.deleteBytes(ctx, d, "orphan"); err != nil {
			return err
		}
		st.Orphans++
		st.ReclaimedBytes += o.size
	}
	return nil
}
