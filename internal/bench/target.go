package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// targetRun is one registry's state through a run.
type targetRun struct {
	c         *client
	img       *image
	report    *TargetReport
	smallRepo string
	small     []*smallImage // pushed by push-small, pulled by mixed
}

// newTargetRun gives the target fresh repositories named after
// opts.Repository so that figures never depend on an earlier run.
func newTargetRun(c *client, img *image, tr *TargetReport) *targetRun {
	c.opts.Repository = c.opts.Repository + "-" + strings.ToLower(rand.Text()[:8])
	return &targetRun{c: c, img: img, report: tr, smallRepo: c.opts.Repository + "-small"}
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

// Ceiling names as printed.
const (
	ceilPut   = "fsync PUT"
	ceilGet   = "sendfile GET"
	ceilHello = "hello"
)

// step is one scenario (or its setup) on one target.
type step func(ctx context.Context, t *targetRun) error

// steps returns the run's steps in order. Run takes each step on every
// target before the next step, so a machine whose load drifts over the
// run treats the targets alike.
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
		s = append(s, stepTagPut)
		if o.wants(ScenarioManifestGet) {
			s = append(s, manifestSteps(strconv.Itoa(o.Tags+1)+" tags")...)
		}
		if o.wants(ScenarioTagsList) {
			s = append(s, stepTagsList)
		}
	}
	if o.wants(ScenarioPushSmall) || o.wants(ScenarioMixed) {
		s = append(s, stepPushSmall)
		if o.wants(ScenarioMixed) {
			s = append(s, stepMixed)
		}
	}
	return s
}

func imageLabel(o Options) string {
	return fmt.Sprintf("%d x %s, c=%d", o.Layers, formatSize(o.LayerSize), o.Concurrency)
}

func stepPushLarge(ctx context.Context, t *targetRun) error {
	r, err := push(ctx, t.c, t.img)
	if err != nil || !t.c.opts.wants(ScenarioPushLarge) {
		return err
	}
	return t.record("push-large", "push-large "+imageLabel(t.c.opts), r.MBps(), "MB/s", r.MBps(), ceilPut)
}

func stepPullLarge(ctx context.Context, t *targetRun) error {
	r, err := pull(ctx, t.c, t.img)
	if err != nil {
		return err
	}
	return t.record("pull-large", "pull-large "+imageLabel(t.c.opts)+", verified", r.MBps(), "MB/s", r.MBps(), ceilGet)
}

// manifestSteps measure GET, then HEAD, of the large image by tag.
func manifestSteps(tags string) []step {
	var s []step
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		s = append(s, func(ctx context.Context, t *targetRun) error {
			r, err := manifestLoad(ctx, t.c, m, t.img.manifestDigest, int64(len(t.img.manifest)))
			if err != nil {
				return fmt.Errorf("bench: manifest %s (%s): %w", m, tags, err)
			}
			label := fmt.Sprintf("manifest-get %s by tag, %s, c=%d", m, tags, r.Concurrency)
			return t.record("manifest-"+m+"-"+tags, label, r.PerSecond(), "req/s", r.PerSecond(), ceilHello)
		})
	}
	return s
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
