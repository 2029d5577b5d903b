package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"syscall"
	"time"
)

// run is one run's state: the options, the large image's random data, the
// ceiling server and the targets.
type run struct {
	o    Options
	data []byte
	// id is stamped into every layer variant beside the round number, so
	// no two runs push the same variant.
	id      uint32
	ceiling *ceiling
	targets []*targetRun
	report  *Report
}

// roundOrder returns the order of n targets in round: round r starts at
// target r mod n, so that no target always goes first.
func roundOrder(round, n int) []int {
	order := make([]int, n)
	for k := range order {
		order[k] = (round + k) % n
	}
	return order
}

// inRounds takes rounds rounds of a ceiling-relative scenario. Each round
// calls prep (when set, outside any timing), then measures the ceiling,
// and after each target (in roundOrder) the ceiling again: every target is
// bracketed by two ceiling measurements, and its reference for the round
// is their mean. On this kind of machine the disk and the CPU drift within
// a round (a VM's disk slows as writes accumulate), so the ceiling taken
// on either side of a target describes the machine the target ran on far
// better than one taken elsewhere in the round.
//
// It returns, per target, its figure and its reference per round; ceil
// keeps its own samples (in the report's Ceilings).
func (r *run) inRounds(ctx context.Context, rounds int, prep func(round int) error,
	ceil func(ctx context.Context) (float64, error),
	target func(ctx context.Context, t *targetRun) (float64, error),
) (figures, refs [][]float64, err error) {
	figures = make([][]float64, len(r.targets))
	refs = make([][]float64, len(r.targets))
	for i := range figures {
		figures[i] = make([]float64, rounds)
		refs[i] = make([]float64, rounds)
	}
	measureCeiling := func() (float64, error) {
		settle()
		return ceil(ctx)
	}
	for round := range rounds {
		if prep != nil {
			if err := prep(round); err != nil {
				return nil, nil, err
			}
		}
		before, err := measureCeiling()
		if err != nil {
			return nil, nil, err
		}
		for _, i := range roundOrder(round, len(r.targets)) {
			t := r.targets[i]
			settle()
			if figures[i][round], err = target(ctx, t); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", t.report.Name, err)
			}
			after, err := measureCeiling()
			if err != nil {
				return nil, nil, err
			}
			refs[i][round] = (before + after) / 2
			before = after
		}
	}
	return figures, refs, nil
}

// settle starts each measurement with nothing dirty in the page cache, so
// that one participant's writeback never slows the next.
func settle() { syscall.Sync() }

// recordRounds stores every target's result of a scenario taken inRounds.
func (r *run) recordRounds(key, label, unit string, figures, refs [][]float64, ceiling string) error {
	for i, t := range r.targets {
		if err := t.recordRounds(key, label, unit, figures[i], refs[i], ceiling); err != nil {
			return fmt.Errorf("%s: %w", t.report.Name, err)
		}
	}
	return nil
}

// stampVariant overwrites the first 8 bytes of every layer of data (fewer
// when layers are smaller) with round and id, so that each round pushes
// blobs no registry has yet.
func stampVariant(data []byte, layers int, layerSize int64, round int, id uint32) {
	var stamp [8]byte
	binary.LittleEndian.PutUint32(stamp[:4], uint32(round))
	binary.LittleEndian.PutUint32(stamp[4:], id)
	for i := range layers {
		off := int64(i) * layerSize
		copy(data[off:off+layerSize], stamp[:])
	}
}

// variant stamps round into the data and builds its image. The image of
// the previous round shares the data, so its layers' bytes no longer match
// their digests: nothing may use it afterwards.
func (r *run) variant(round int) (*image, error) {
	stampVariant(r.data, r.o.Layers, r.o.LayerSize, round, r.id)
	img, err := newImage(r.data, r.o.Layers, r.o.LayerSize)
	if err != nil {
		return nil, fmt.Errorf("bench: round %d image: %w", round, err)
	}
	return img, nil
}

// stepPushLarge pushes a fresh variant of the large image in each round,
// to the ceiling and to every target. When push-large is not measured, the
// image the other scenarios need is pushed once, untimed (placeImage).
func stepPushLarge(ctx context.Context, r *run) error {
	o := r.o
	if !o.wants(ScenarioPushLarge) {
		return r.placeImage(ctx)
	}
	var img *image
	prep := func(round int) error {
		var err error
		img, err = r.variant(round)
		return err
	}
	ceil := func(ctx context.Context) (float64, error) {
		t, err := r.ceiling.put(ctx, r.data, img)
		if err != nil {
			return 0, err
		}
		r.report.Ceilings.Put = append(r.report.Ceilings.Put, t)
		return t.MBps(), nil
	}
	target := func(ctx context.Context, t *targetRun) (float64, error) {
		t.img = img
		th, err := push(ctx, t.c, img)
		return th.MBps(), err
	}
	figures, refs, err := r.inRounds(ctx, o.Rounds, prep, ceil, target)
	if err != nil {
		return err
	}
	return r.recordRounds(ScenarioPushLarge, "push-large "+imageLabel(o), "MB/s", figures, refs, ceilPut)
}

// placeImage pushes one variant of the large image to every target and,
// when pull-large will fetch it back, to the ceiling server, without
// measuring: no ceiling PUT figure comes of it.
func (r *run) placeImage(ctx context.Context) error {
	img, err := r.variant(0)
	if err != nil {
		return err
	}
	if r.o.wants(ScenarioPullLarge) {
		if _, err := r.ceiling.put(ctx, r.data, img); err != nil {
			return err
		}
	}
	for _, t := range r.targets {
		t.img = img
		if _, err := push(ctx, t.c, img); err != nil {
			return fmt.Errorf("%s: %w", t.report.Name, err)
		}
	}
	return nil
}

// pullsPerMeasure is how many times one pull-large measurement (ceiling
// or target) fetches the image: one pull takes a fraction of a second, too
// short to rise above scheduling noise.
const pullsPerMeasure = 4

// repeated runs once n times and returns the total.
func repeated(n int, once func() (Throughput, error)) (Throughput, error) {
	var total Throughput
	for range n {
		t, err := once()
		if err != nil {
			return Throughput{}, err
		}
		total.Bytes += t.Bytes
		total.Elapsed += t.Elapsed
	}
	return total, nil
}

// stepPullLarge pulls the last variant from the ceiling and every target.
func stepPullLarge(ctx context.Context, r *run) error {
	n := pullsPerMeasure
	if r.o.Smoke {
		n = 1
	}
	ceil := func(ctx context.Context) (float64, error) {
		t, err := repeated(n, func() (Throughput, error) { return r.ceiling.get(ctx) })
		if err != nil {
			return 0, err
		}
		r.report.Ceilings.Get = append(r.report.Ceilings.Get, t)
		return t.MBps(), nil
	}
	target := func(ctx context.Context, t *targetRun) (float64, error) {
		th, err := repeated(n, func() (Throughput, error) { return pull(ctx, t.c, t.img) })
		return th.MBps(), err
	}
	figures, refs, err := r.inRounds(ctx, r.o.Rounds, nil, ceil, target)
	if err != nil {
		return err
	}
	return r.recordRounds(ScenarioPullLarge, "pull-large "+imageLabel(r.o)+", verified", "MB/s", figures, refs, ceilGet)
}

// roundDuration is each round's share of Duration, so that a scenario
// taken in rounds loads each target for Duration in all.
func (r *run) roundDuration() time.Duration {
	return r.o.Duration / time.Duration(r.o.Rounds)
}

// helloCeiling measures the hello handler for one round and keeps it.
func (r *run) helloCeiling(ctx context.Context) (float64, error) {
	rate, err := r.ceiling.hello(ctx, r.roundDuration())
	if err != nil {
		return 0, err
	}
	r.report.Ceilings.Hello = append(r.report.Ceilings.Hello, rate)
	return rate.PerSecond(), nil
}

// manifestSteps measure GET, then HEAD, of the large image by tag, each in
// rounds against the hello handler.
func manifestSteps(tags string) []step {
	var s []step
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		s = append(s, func(ctx context.Context, r *run) error {
			target := func(ctx context.Context, t *targetRun) (float64, error) {
				rate, err := manifestLoad(ctx, t.c, m, r.roundDuration(), t.img.manifestDigest, int64(len(t.img.manifest)))
				if err != nil {
					return 0, fmt.Errorf("bench: manifest %s (%s): %w", m, tags, err)
				}
				return rate.PerSecond(), nil
			}
			figures, refs, err := r.inRounds(ctx, r.o.Rounds, nil, r.helloCeiling, target)
			if err != nil {
				return err
			}
			label := fmt.Sprintf("manifest-get %s by tag, %s, c=%d", m, tags, r.o.ManifestConcurrency)
			return r.recordRounds("manifest-"+m+"-"+tags, label, "req/s", figures, refs, ceilHello)
		})
	}
	return s
}
