package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/gc"
)

// startGC registers the garbage collector's and the repository usage
// metrics and runs online garbage collection every cfg.GCInterval until ctx
// is done. The returned function waits for the collector to stop; Serve
// calls it before closing the stores.
func (s *Server) startGC(ctx context.Context) (wait func()) {
	if err := s.prom.Register(gc.NewUsageCollector(s.meta, 0, 0, s.log)); err != nil {
		s.log.Warn("register usage metrics", "error", err)
	}
	col, err := gc.New(s.meta, s.blobs, gc.Config{Interval: s.cfg.GCInterval, GracePeriod: s.cfg.GCGracePeriod}, s.log, s.prom)
	if err != nil {
		s.log.Error("garbage collection disabled", "error", err)
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		col.Run(ctx)
	}()
	return func() { <-done }
}

// PrintUsage opens the stores cfg selects and prints every repository's
// usage (berth usage).
func PrintUsage(ctx context.Context, cfg config.Config, log *slog.Logger, w io.Writer) error {
	st, err := openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.meta.Close()
	if c, ok := st.blobs.(io.Closer); ok {
		defer c.Close()
	}
	usage, _, err := gc.RepositoryUsage(ctx, st.meta, 0)
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return gc.WriteUsage(w, usage)
}
