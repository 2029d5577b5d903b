package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{7}, 7},
		{"two: mean of both", []float64{1, 4}, 2.5},
		{"odd, unsorted", []float64{9, 1, 5}, 5},
		{"even, unsorted", []float64{10, 1, 3, 4}, 3.5},
		{"outlier ignored", []float64{100, 101, 99, 5, 1000}, 100},
		{"ties", []float64{2, 2, 1, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := median(in); got != tt.want {
				t.Fatalf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Fatalf("median reordered its input: %v", in)
			}
		})
	}
}

// Two registries measured in rounds compare round by round: a registry that
// was faster in every round is faster, whatever the medians of its figures.
func TestTargetRatio(t *testing.T) {
	tests := []struct {
		name string
		a, b Result
		want float64
	}{
		{"one run", Result{Value: 30}, Result{Value: 10}, 3},
		{"rounds: median of per-round ratios, not of figures",
			// Medians 2 and 2 (ratio 1); per round 1/3, 2, 1.5.
			Result{Value: 2, Rounds: []float64{1, 2, 3}}, Result{Value: 2, Rounds: []float64{3, 1, 2}}, 1.5},
		{"rounds paired in order", Result{Value: 2, Rounds: []float64{1, 2, 4}}, Result{Value: 2, Rounds: []float64{1, 1, 1}}, 2},
		{"different round counts fall back to the figures", Result{Value: 6, Rounds: []float64{6}}, Result{Value: 3, Rounds: []float64{1, 3}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := targetRatio(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("targetRatio = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoundRatios(t *testing.T) {
	tests := []struct {
		name              string
		figures, ceilings []float64
		want              []float64
		wantMedian        float64
	}{
		{name: "one round", figures: []float64{50}, ceilings: []float64{100}, want: []float64{0.5}, wantMedian: 0.5},
		// Each round against its own ceiling: a slow round for both
		// registry and ceiling does not drag the ratio down.
		{name: "same-round pairing", figures: []float64{40, 90, 80}, ceilings: []float64{50, 100, 100},
			want: []float64{0.8, 0.9, 0.8}, wantMedian: 0.8},
		{name: "unknown ceiling gives 0", figures: []float64{10, 20}, ceilings: []float64{0, 40},
			want: []float64{0, 0.5}, wantMedian: 0.25},
		{name: "missing ceilings", figures: []float64{10, 20}, ceilings: []float64{20},
			want: []float64{0.5, 0}, wantMedian: 0.25},
		{name: "no rounds", want: []float64{}, wantMedian: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundRatios(tt.figures, tt.ceilings)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("roundRatios = %v, want %v", got, tt.want)
			}
			if m := median(got); m != tt.wantMedian {
				t.Fatalf("median ratio = %v, want %v", m, tt.wantMedian)
			}
		})
	}
}

func TestCeilingsFigure(t *testing.T) {
	c := Ceilings{
		Put:   []Throughput{{Bytes: 70e6, Elapsed: time.Second}, {Bytes: 50e6, Elapsed: time.Second}, {Bytes: 60e6, Elapsed: time.Second}},
		Hello: []Rate{{Requests: 10, Elapsed: time.Second}, {Requests: 30, Elapsed: time.Second}},
	}
	tests := []struct {
		name string
		want float64
	}{
		{ceilPut, 60},
		{ceilGet, 0}, // not measured
		{ceilHello, 20},
		{"none", 0},
	}
	for _, tt := range tests {
		if got := c.figure(tt.name); got != tt.want {
			t.Errorf("figure(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSetRatios(t *testing.T) {
	r := &Report{
		Ceilings: Ceilings{Hello: []Rate{{Requests: 1000, Elapsed: time.Second}}},
		Targets: []*TargetReport{{Results: []Result{
			{Key: "rounds", Measure: 500, Ceiling: ceilHello, Rounds: []float64{400, 500, 600}, Ratios: []float64{0.3, 0.2, 0.7}},
			{Key: "single", Measure: 500, Ceiling: ceilHello},
			{Key: "no ceiling", Measure: 500, Ceiling: ceilGet},
		}}},
	}
	r.setRatios()
	want := map[string]float64{"rounds": 0.3, "single": 0.5, "no ceiling": 0}
	for _, res := range r.Targets[0].Results {
		if res.Ratio != want[res.Key] {
			t.Errorf("%s: ratio %v, want %v", res.Key, res.Ratio, want[res.Key])
		}
	}
}

func TestRoundOrder(t *testing.T) {
	tests := []struct {
		round, n int
		want     []int
	}{
		{0, 1, []int{0}},
		{3, 1, []int{0}},
		{0, 2, []int{0, 1}},
		{1, 2, []int{1, 0}},
		{2, 2, []int{0, 1}},
		{0, 3, []int{0, 1, 2}},
		{1, 3, []int{1, 2, 0}},
		{2, 3, []int{2, 0, 1}},
		{4, 3, []int{1, 2, 0}},
	}
	for _, tt := range tests {
		if got := roundOrder(tt.round, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("roundOrder(%d, %d) = %v, want %v", tt.round, tt.n, got, tt.want)
		}
	}
}

func TestInRounds(t *testing.T) {
	r := &run{targets: []*targetRun{{report: &TargetReport{Name: "a"}}, {report: &TargetReport{Name: "b"}}}}
	var calls []string
	round := -1
	prep := func(n int) error { round = n; calls = append(calls, fmt.Sprintf("prep%d", n)); return nil }
	target := func(_ context.Context, t *targetRun) (float64, error) {
		calls = append(calls, t.report.Name)
		return float64(10*(round+1) + len(t.report.Name)), nil
	}
	var ceilings []float64
	ceil := func(context.Context) (float64, error) {
		calls = append(calls, "ceil")
		c := float64(100 * (len(ceilings) + 1)) // 100, 200, 300, ... per ceiling sample
		ceilings = append(ceilings, c)
		return c, nil
	}
	figures, refs, err := r.inRounds(context.Background(), 3, prep, ceil, target)
	if err != nil {
		t.Fatal(err)
	}
	// Every target sits between two ceiling samples; the order of the
	// targets rotates by round.
	wantCalls := []string{"prep0", "ceil", "a", "ceil", "b", "ceil",
		"prep1", "ceil", "b", "ceil", "a", "ceil",
		"prep2", "ceil", "a", "ceil", "b", "ceil"}
	if !slices.Equal(calls, wantCalls) {
		t.Fatalf("calls %v, want %v", calls, wantCalls)
	}
	if !slices.Equal(ceilings, []float64{100, 200, 300, 400, 500, 600, 700, 800, 900}) {
		t.Fatalf("ceilings %v", ceilings)
	}
	if len(figures) != 2 || !slices.Equal(figures[0], []float64{11, 21, 31}) || !slices.Equal(figures[1], figures[0]) {
		t.Fatalf("figures %v", figures)
	}
	// a's references: round 0 between samples 1 and 2, round 1 between 5
	// and 6, round 2 between 7 and 8; b's: 2-3, 4-5, 8-9.
	if !slices.Equal(refs[0], []float64{150, 550, 750}) || !slices.Equal(refs[1], []float64{250, 450, 850}) {
		t.Fatalf("refs %v", refs)
	}

	// A target's failure stops the rounds and names the target.
	fail := func(_ context.Context, t *targetRun) (float64, error) {
		if t.report.Name == "b" {
			return 0, errors.New("boom")
		}
		return 1, nil
	}
	if _, _, err := r.inRounds(context.Background(), 3, nil, ceil, fail); err == nil || !strings.Contains(err.Error(), "b: boom") {
		t.Fatalf("err = %v, want b: boom", err)
	}
}

func TestStampVariant(t *testing.T) {
	tests := []struct {
		name      string
		layers    int
		layerSize int64
	}{
		{"large layers", 3, 1000},
		{"layers smaller than the stamp", 4, 3},
		{"one-byte layers", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, err := randomData(int64(tt.layers) * tt.layerSize)
			if err != nil {
				t.Fatal(err)
			}
			data := slices.Clone(orig)
			seen := map[string]bool{}
			for _, v := range []struct {
				round int
				id    uint32
			}{{0, 7}, {1, 7}, {2, 7}, {1, 8}} {
				stampVariant(data, tt.layers, tt.layerSize, v.round, v.id)
				for i := range tt.layers {
					off := int64(i) * tt.layerSize
					stamped := min(8, tt.layerSize)
					// Only the stamp changes: the rest of each layer stays random.
					if !bytes.Equal(data[off+stamped:off+tt.layerSize], orig[off+stamped:off+tt.layerSize]) {
						t.Fatalf("layer %d changed past its stamp", i)
					}
				}
				if tt.layerSize >= 8 {
					key := string(data[:8])
					if seen[key] {
						t.Fatalf("round %d id %d repeats a stamp", v.round, v.id)
					}
					seen[key] = true
				} else if data[0] != byte(v.round) {
					t.Fatalf("round %d: first byte %d", v.round, data[0])
				}
			}
		})
	}
}

func TestVariantImages(t *testing.T) {
	const layers, size = 2, 4096
	data, err := randomData(layers * size)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{o: Options{Layers: layers, LayerSize: size}, data: data, id: 42}
	a, err := r.variant(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.variant(1)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh variant has fresh blobs and a fresh manifest, so a registry
	// cannot skip its upload.
	for i := range layers {
		if a.layers[i].Digest == b.layers[i].Digest {
			t.Fatalf("layer %d has the same digest in two rounds", i)
		}
	}
	if a.manifestDigest == b.manifestDigest {
		t.Fatal("two rounds share a manifest")
	}
	// The latest variant's descriptors match the data it aliases.
	again, err := newImage(data, layers, size)
	if err != nil {
		t.Fatal(err)
	}
	if again.manifestDigest != b.manifestDigest {
		t.Fatal("the latest variant does not match its data")
	}
}
