package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-registry/berth/internal/registry"
)

// schedulerLease is the metadata-store lease a node holds while it runs a
// scheduled pass over every repository's lifecycle policy, so that nodes
// sharing a database take turns instead of all evaluating every interval.
const schedulerLease = "lifecycle/scheduler"

// lifecyclePageSize is how many repositories one pass lists at a time.
const lifecyclePageSize = 100

// LifecycleScheduler evaluates and applies every repository's lifecycle
// policy every interval. Each repository's evaluation also holds that
// repository's lease (see registry.RunLifecycleAs), so an on-demand run and
// a scheduled one never overlap either.
type LifecycleScheduler struct {
	core   *registry.Registry
	every  time.Duration
	holder string
	log    *slog.Logger
}

// NewLifecycleScheduler returns a scheduler with its own lease holder name.
func NewLifecycleScheduler(core *registry.Registry, every time.Duration, log *slog.Logger) *LifecycleScheduler {
	if log == nil {
		log = slog.Default()
	}
	return &LifecycleScheduler{core: core, every: every, holder: registry.NewLeaseHolder(), log: log}
}

// Pass runs one scheduled pass if this node wins the scheduler lease (held
// for one interval, so one node runs per interval). It reports whether it
// ran and the runs it made.
func (l *LifecycleScheduler) Pass(ctx context.Context) (bool, []*registry.LifecycleRun, error) {
	ok, err := l.core.AcquireLease(ctx, schedulerLease, l.holder, l.every)
	if err != nil || !ok {
		return false, nil, err
	}
	var runs []*registry.LifecycleRun
	after := ""
	for {
		repos, err := l.core.LifecycleRepositories(ctx, after, lifecyclePageSize)
		if err != nil {
			return true, runs, err
		}
		for _, repo := range repos {
			after = repo
			if ctx.Err() != nil {
				return true, runs, ctx.Err()
			}
			run, err := l.core.RunLifecycleAs(ctx, repo, l.holder)
			if err != nil {
				l.log.ErrorContext(ctx, "lifecycle evaluation failed", "repository", repo, "err", err)
				continue
			}
			runs = append(runs, run)
			if !run.Skipped {
				failed := 0
				for _, a := range run.Actions {
					if a.Err != nil {
						failed++
					}
				}
				l.log.InfoContext(ctx, "lifecycle policy evaluated", "repository", repo,
					"actions", len(run.Actions), "failed", failed)
			}
		}
		if len(repos) < lifecyclePageSize {
			return true, runs, nil
		}
	}
}

// Run passes every interval until ctx is done.
func (l *LifecycleScheduler) Run(ctx context.Context) {
	if err := l.core.RefreshPullTimeExclusions(ctx); err != nil && ctx.Err() == nil {
		l.log.WarnContext(ctx, "load pull-time exclusions", "err", err)
	}
	if l.every <= 0 {
		return
	}
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := l.Pass(ctx); err != nil && ctx.Err() == nil {
				l.log.ErrorContext(ctx, "lifecycle pass", "err", err)
			}
		}
	}
}

// startLifecycle starts the lifecycle scheduler until ctx is done and
// returns a function that waits for it to stop.
func (s *Server) startLifecycle(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	sched := NewLifecycleScheduler(s.core, s.cfg.LifecycleInterval, s.log)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sched.Run(ctx)
	}()
	return wg.Wait
}
