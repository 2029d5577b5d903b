package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/registry"
)

// Config tunes the scan workers.
type Config struct {
	// Workers is the number of concurrent scans; defaults to 1.
	Workers int
	// Lease is how long a claimed scan is held before another worker may
	// retry it; defaults to 30 minutes.
	Lease time.Duration
	// Poll is how often idle workers look for queued scans and new
	// vulnerability data; defaults to 2 seconds.
	Poll time.Duration
	// MaxAttempts is how often a failing scan is tried; defaults to 3.
	MaxAttempts int
	// MaxFileBytes bounds files read from layers.
	MaxFileBytes int64
}

// Scanner runs queued scans and continuous rescans. It is a client of the
// core and the stores: all of its state is in the metadata store.
type Scanner struct {
	core  *registry.Registry
	meta  meta.Store
	blobs blob.Store
	cfg   Config
	log   *slog.Logger
	wake  chan struct{}
}

// New builds a scanner.
func New(core *registry.Registry, m meta.Store, b blob.Store, cfg Config, log *slog.Logger) *Scanner {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if log == nil {
		log = slog.Default()
	}
	return &Scanner{core: core, meta: m, blobs: b, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Wake makes idle workers look for work now.
func (s *Scanner) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs the workers and the rescan watcher until ctx ends.
func (s *Scanner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Go(func() { s.watch(ctx) })
	wg.Wait()
}

func (s *Scanner) sleep(ctx context.Context) bool {
	t := time.NewTimer(s.cfg.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-s.wake:
	}
	return true
}

func (s *Scanner) work(ctx context.Context) {
	for ctx.Err() == nil {
		did, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("scan: worker", "err", err)
		}
		if !did && !s.sleep(ctx) {
			return
		}
	}
}

func (s *Scanner) watch(ctx context.Context) {
	for {
		if err := s.RescanIfUpdated(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("scan: continuous rescan", "err", err)
		}
		if !s.sleep(ctx) {
			return
		}
	}
}

// RunOnce claims and runs one queued scan; it reports false when the queue
// was empty.
func (s *Scanner) RunOnce(ctx context.Context) (bool, error) {
	now := time.Now().UTC()
	job, err := s.meta.ClaimScan(ctx, now, now.Add(s.cfg.Lease))
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim scan: %w", err)
	}
	err = s.scan(ctx, job)
	if err == nil {
		return true, s.meta.DeleteScanJob(ctx, job.Repository, job.Digest)
	}
	if ctx.Err() != nil {
		return true, err
	}
	s.log.Warn("scan: failed", "repository", job.Repository, "digest", job.Digest, "attempt", job.Attempts, "err", err)
	if job.Attempts < s.cfg.MaxAttempts {
		return true, nil // the lease expires and another attempt runs
	}
	if ferr := s.finish(ctx, job.Repository, job.Digest, registry.ScanFailed, "The scan failed: "+err.Error(), nil, nil); ferr != nil {
		return true, ferr
	}
	return true, s.meta.DeleteScanJob(ctx, job.Repository, job.Digest)
}

// stored result fields kept across a scan.
func (s *Scanner) previous(ctx context.Context, repo string, dgst digest.Digest) (*meta.ScanResult, error) {
	r, err := s.meta.GetScanResult(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return &meta.ScanResult{Repository: repo, Digest: dgst, StartedAt: time.Now().UTC()}, nil
	}
	return r, err
}

func (s *Scanner) scan(ctx context.Context, job *meta.ScanJob) error {
	m, err := s.meta.GetManifest(ctx, job.Repository, job.Digest)
	if errors.Is(err, meta.ErrNotFound) {
		return nil // deleted since it was queued
	}
	if err != nil {
		return fmt.Errorf("get manifest: %w", err)
	}
	prev, err := s.previous(ctx, job.Repository, job.Digest)
	if err != nil {
		return err
	}
	if prev.Status != registry.ScanInProgress {
		prev.Status, prev.Description = registry.ScanInProgress, "The scan is in progress."
		if prev.CompletedAt == nil {
			prev.StartedAt = time.Now().UTC()
		}
		if err := s.meta.PutScanResult(ctx, prev); err != nil {
			return fmt.Errorf("record scan start: %w", err)
		}
	}
	if m.MediaType == ocispec.MediaTypeImageIndex || m.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json" {
		return s.scanIndex(ctx, m)
	}
	if !isImageConfig(m.ArtifactType) {
		// Signatures, SBOMs and other artifacts hold no filesystem.
		return s.finish(ctx, m.Repository, m.Digest, registry.ScanUnsupported, "The operating system and/or package manager are not supported.", nil, nil)
	}
	img, err := openImage(ctx, s.blobs, m.MediaType, m.Content)
	if err != nil {
		return err
	}
	ex, err := Extract(ctx, img, ExtractConfig{MaxFileBytes: s.cfg.MaxFileBytes})
	if errors.Is(err, ErrUnsupportedImage) {
		return s.finish(ctx, m.Repository, m.Digest, registry.ScanUnsupported, "The operating system and/or package manager are not supported.", ex, nil)
	}
	if err != nil {
		return err
	}
	findings, err := MatchAll(ctx, s.meta, ex.Packages)
	if err != nil {
		return err
	}
	return s.finish(ctx, m.Repository, m.Digest, registry.ScanComplete, "The scan was completed successfully.", ex, findings)
}

// scanIndex queues each child image of an index; the index itself reports
// COMPLETE with no findings of its own.
func (s *Scanner) scanIndex(ctx context.Context, m *meta.Manifest) error {
	var idx ocispec.Index
	if err := json.Unmarshal(m.Content, &idx); err != nil {
		return fmt.Errorf("decode index: %w", err)
	}
	now := time.Now().UTC()
	for _, c := range idx.Manifests {
		err := s.meta.EnqueueScan(ctx, m.Repository, c.Digest, now)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("queue child %s: %w", c.Digest, err)
		}
	}
	s.Wake()
	return s.finish(ctx, m.Repository, m.Digest, registry.ScanComplete, "The scan was completed successfully. Each image of the index is scanned on its own.", &Extraction{Packages: []Package{}}, []Finding{})
}

// finish stores a scan's outcome and records its completion event.
func (s *Scanner) finish(ctx context.Context, repo string, dgst digest.Digest, status, desc string, ex *Extraction, findings []Finding) error {
	prev, err := s.previous(ctx, repo, dgst)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	prev.Status, prev.Description, prev.CompletedAt = status, desc, &now
	if ex != nil {
		if prev.Packages, err = json.Marshal(ex); err != nil {
			return fmt.Errorf("encode packages: %w", err)
		}
	}
	if findings == nil {
		findings = []Finding{}
	}
	if prev.Findings, err = json.Marshal(findings); err != nil {
		return fmt.Errorf("encode findings: %w", err)
	}
	if prev.SourceUpdatedAt, err = SourceUpdatedAt(ctx, s.meta); err != nil {
		return err
	}
	counts, err := json.Marshal(SeverityCounts(findings))
	if err != nil {
		return fmt.Errorf("encode counts: %w", err)
	}
	return s.meta.InTx(ctx, func(q meta.Queries) error {
		if err := q.PutScanResult(ctx, prev); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return nil // the image was deleted meanwhile
			}
			return fmt.Errorf("store scan result: %w", err)
		}
		if err := q.AddScanEvent(ctx, &meta.ScanEvent{Repository: repo, Digest: dgst, Status: status, Counts: counts, At: now}); err != nil {
			return fmt.Errorf("record scan event: %w", err)
		}
		return nil
	})
}

// settingRescanGeneration is the data generation continuous scanning last
// re-matched against.
const settingRescanGeneration = "scan.rescan.generation"

// RescanIfUpdated re-matches the stored packages of every completed scan in
// repositories with CONTINUOUS_SCAN when new vulnerability data was
// imported since the last rescan. Images are not extracted again.
func (s *Scanner) RescanIfUpdated(ctx context.Context) error {
	gen, err := Generation(ctx, s.meta)
	if err != nil || gen == "" {
		return err
	}
	last, err := s.meta.GetSetting(ctx, settingRescanGeneration)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("get rescan generation: %w", err)
	}
	if string(last) == gen {
		return nil
	}
	if err := s.Rescan(ctx); err != nil {
		return err
	}
	if err := s.meta.PutSetting(ctx, settingRescanGeneration, []byte(gen)); err != nil {
		return fmt.Errorf("record rescan generation: %w", err)
	}
	return nil
}

// Rescan re-matches the completed scans of continuously scanned repositories.
func (s *Scanner) Rescan(ctx context.Context) error {
	cfg, err := s.core.RegistryScanningConfiguration(ctx)
	if err != nil {
		return err
	}
	var afterRepo string
	var afterDigest digest.Digest
	continuous := map[string]bool{}
	for {
		page, err := s.meta.ListScanResults(ctx, afterRepo, afterDigest, 200)
		if err != nil {
			return fmt.Errorf("list scan results: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			afterRepo, afterDigest = r.Repository, r.Digest
			if r.Status != registry.ScanComplete || len(r.Packages) == 0 {
				continue
			}
			c, ok := continuous[r.Repository]
			if !ok {
				repo, err := s.core.GetRepository(ctx, r.Repository)
				if err != nil {
					continue
				}
				c = cfg.ForRepository(r.Repository, repo.ScanOnPush).ScanFrequency == registry.ScanContinuousFrequency
				continuous[r.Repository] = c
			}
			if !c {
				continue
			}
			var ex Extraction
			if err := json.Unmarshal(r.Packages, &ex); err != nil {
				s.log.Warn("scan: stored packages unreadable", "repository", r.Repository, "digest", r.Digest, "err", err)
				continue
			}
			findings, err := MatchAll(ctx, s.meta, ex.Packages)
			if err != nil {
				return err
			}
			if err := s.finish(ctx, r.Repository, r.Digest, registry.ScanComplete, "The scan was completed successfully.", &ex, findings); err != nil {
				return err
			}
		}
	}
}

// isImageConfig reports whether a manifest's artifact type (its config media
// type for images) is a container image's.
func isImageConfig(artifactType string) bool {
	switch artifactType {
	case ocispec.MediaTypeImageConfig, "application/vnd.docker.container.image.v1+json", "":
		return true
	}
	return false
}
