package server

import (
	"context"
	"time"
)

// Background work bounds.
const (
	maxJanitorInterval = 10 * time.Minute
	minJanitorInterval = time.Second
	// pullFlushInterval is how stale lastRecordedPullTime may be on disk.
	pullFlushInterval = time.Second
)

// janitorInterval is how often stale uploads are looked for: a quarter of the
// TTL, so a session lives at most 1.25 TTL, and at most every 10 minutes.
func janitorInterval(ttl time.Duration) time.Duration {
	return max(min(ttl/4, maxJanitorInterval), minJanitorInterval)
}

// runJanitor reclaims stale uploads and writes batched pull times until ctx
// is done. Serve writes the last pull times after the drain.
func (s *Server) runJanitor(ctx context.Context) {
	reclaim := time.NewTicker(s.janitorEvery)
	defer reclaim.Stop()
	flush := time.NewTicker(pullFlushInterval)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reclaim.C:
			s.janitorPass(ctx)
		case <-flush.C:
			s.flushPulls(ctx)
		}
	}
}

func (s *Server) janitorPass(ctx context.Context) {
	n, err := s.reclaim(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "reclaim stale uploads", "err", err, "reclaimed", n)
	case n > 0:
		s.log.InfoContext(ctx, "reclaimed stale uploads", "count", n)
	}
}

func (s *Server) flushPulls(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.core.FlushPulls(ctx); err != nil {
		s.log.WarnContext(ctx, "record pull times", "err", err)
	}
}
