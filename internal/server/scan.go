package server

import (
	"context"
	"log/slog"
	"sync"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/scan"
)

// startScan runs the image scan workers (internal/scan) until ctx ends; the
// returned function waits for them. Queued scans live in the metadata store,
// so a restart or another node picks them up.
func (s *Server) startScan(ctx context.Context) (stop func()) {
	if s.cfg.ScanWorkers <= 0 {
		return func() {}
	}
	sc := scan.New(s.core, s.meta, s.blobs, scan.Config{Workers: s.cfg.ScanWorkers}, s.log.With("component", "scan"))
	var wg sync.WaitGroup
	wg.Go(func() { sc.Run(ctx) })
	return wg.Wait
}

// scanQuota is the ECR API's StartImageScan quota: a configured 0 means
// unlimited, which ecrapi spells as negative.
func scanQuota(cfg int64) int64 {
	if cfg <= 0 {
		return -1
	}
	return cfg
}

// OpenMetadata opens the metadata store the settings select, for commands
// that work on a registry's data with or without a server running on it
// (berth vulndb). The caller closes it.
func OpenMetadata(ctx context.Context, cfg config.Config, log *slog.Logger) (meta.Store, error) {
	return openMeta(ctx, cfg, log)
}
