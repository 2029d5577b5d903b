package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
)

// targetRun is one registry's state through a run.
type targetRun struct {
	c *client
	// img is the large image variant the target's tag points to: replaced
	// by every push-large round, since each round's variant overwrites the
	// bytes of the one before.
	img       *image
	report    *TargetReport
	smallRepo string
	small     []*smallImage // pushed by push-small, pulled by mixed
}

// newTargetRun gives the target fresh repositories named after
// opts.Repository so that figures never depend on an earlier run.
func newTargetRun(c *client, tr *TargetReport) *targetRun {
	c.opts.Repository = c.opts.Repository + "-" + strings.ToLower(rand.Text()[:8])
	return &targetRun{c: c, report: tr, smallRepo: c.opts.Repository + "-small"}
}

// record stores one result: measure is the figure in its ceiling's unit.
func (t *targetRun) record(key, label string, value float64, unit string, measure float64, ceiling string) error {
	hwm, err := peakRSS(t.c.target.ServerPID)
	if err != nil {
		return err
	}
	t.report.Results = append(t.report.Results, Result{Key: key, Label: label, Value: value, Unit: unit,
		Measure: measure, Ceiling: ceiling, PeakRSSKiB: hwm})
	return nil
}

// recordRounds stores a result measured in rounds: figures[i] is the
// target's figure in round i, in its ceiling's unit, and ceilings[i] the
// ceiling's figure in the same round.
func (t *targetRun) recordRounds(key, label, unit string, figures, ceilings []float64, ceiling string) error {
	m := median(figures)
	if err := t.record(key, label, m, unit, m, ceiling); err != nil {
		return err
	}
	res := &t.report.Results[len(t.report.Results)-1]
	res.Rounds, res.Ratios = figures, roundRatios(figures, ceilings)
	return nil
}

// Ceiling names as printed.
const (
	ceilPut   = "fsync PUT"
	ceilGet   = "sendfile GET"
	ceilHello = "hello"
)

// step is one scenario (or its setup) on every target.
type step func(ctx context.Context, r *run) error

// steps returns the run's steps in order. Each step is taken on every
// target before the next, so a machine whose load drifts over the run
// treats the targets alike.
func steps(o Options) []step {
	var s []step
	// The large image is pushed whatever the scenarios: the others need it.
	s = append(s, stepPushLarge)
	if o.wants(ScenarioPullLarge) {
		s = append(s, stepPullLarge)
	}
	if o.wants(ScenarioManifestGet) {
		s = append(s, manifestSteps("1 tag")...)
	}
	if o.wants(ScenarioTagPut) || o.wants(ScenarioTagsList) {
		s = append(s, eachTarget(stepTagPut))
		if o.wants(ScenarioManifestGet) {
			s = append(s, manifestSteps(strconv.Itoa(o.Tags+1)+" tags")...)
		}
		if o.wants(ScenarioTagsList) {
			s = append(s, eachTarget(stepTagsList))
		}
	}
	if o.wants(ScenarioPushSmall) || o.wants(ScenarioMixed) {
		s = append(s, eachTarget(stepPushSmall))
		if o.wants(ScenarioMixed) {
			s = append(s, eachTarget(stepMixed))
		}
	}
	return s
}

// usesHello reports whether a single-run scenario is compared to the hello
// ceiling.
func usesHello(o Options) bool {
	return o.wants(ScenarioTagPut) || o.wants(ScenarioTagsList) || o.wants(ScenarioPushSmall) || o.wants(ScenarioMixed)
}

// eachTarget makes a step of a single-run scenario: f on each target in turn.
func eachTarget(f func(ctx context.Context, t *targetRun) error) step {
	return func(ctx context.Context, r *run) error {
		for _, t := range r.targets {
			if err := f(ctx, t); err != nil {
				return fmt.Errorf("%s: %w", t.report.Name, err)
			}
		}
		return nil
	}
}

func imageLabel(o Options) string {
	return fmt.Sprintf("%d x %s, c=%d", o.Layers, formatSize(o.LayerSize), o.Concurrency)
}

func stepTagPut(ctx context.Context, t *targetRun) error {
	r, err := tagPut(ctx, t.c, t.img)
	if err != nil || !t.c.opts.wants(ScenarioTagPut) {
		return err
	}
	label := fmt.Sprintf("tag-put %d tags, c=%d", t.c.opts.Tags, r.Concurrency)
	return t.record("tag-put", label, r.OpsPerSecond(), "tags/s", r.PerSecond(), ceilHello)
}

func stepTagsList(ctx context.Context, t *targetRun) error {
	o := t.c.opts
	r, err := tagsList(ctx, t.c, sortedTags(o.Tag, o.Tags))
	if err != nil {
		return err
	}
	label := fmt.Sprintf("tags-list pages n=%d of %d tags, c=%d", o.TagPageSize, o.Tags+1, r.Concurrency)
	return t.record("tags-list", label, r.PerSecond(), "pages/s", r.PerSecond(), ceilHello)
}

func stepPushSmall(ctx context.Context, t *targetRun) error {
	o := t.c.opts
	t.small = make([]*smallImage, o.SmallImages)
	for i := range t.small {
		var err error
		if t.small[i], err = newSmallImage("s-"+strconv.Itoa(i), o.SmallLayerSize); err != nil {
			return err
		}
	}
	r, err := pushSmallImages(ctx, t.c, t.smallRepo, t.small)
	if err != nil || !o.wants(ScenarioPushSmall) {
		return err
	}
	label := fmt.Sprintf("push-small %d images of %s, c=%d", o.SmallImages, formatSize(o.SmallLayerSize), r.Concurrency)
	return t.record("push-small", label, r.OpsPerSecond(), "images/s", r.PerSecond(), ceilHello)
}

func stepMixed(ctx context.Context, t *targetRun) error {
	o := t.c.opts
	r, err := mixed(ctx, t.c, t.smallRepo, t.small, "m-")
	if err != nil {
		return err
	}
	label := fmt.Sprintf("mixed %d%% pull / %d%% push, c=%d", 100-100/o.MixedPushEvery, 100/o.MixedPushEvery, r.Concurrency)
	return t.record("mixed", label, r.OpsPerSecond(), "ops/s", r.PerSecond(), ceilHello)
}
