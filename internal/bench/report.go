package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Throughput is bytes moved in a time.
type Throughput struct {
	Bytes   int64
	Elapsed time.Duration
}

// MBps returns megabytes (10^6 bytes) per second, or 0 when nothing was timed.
func (t Throughput) MBps() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.Bytes) / 1e6 / t.Elapsed.Seconds()
}

// Rate is operations, made of requests, completed in a time.
type Rate struct {
	Ops         int64
	Requests    int64
	Elapsed     time.Duration
	Concurrency int
}

// PerSecond returns requests per second, or 0 when nothing was timed.
func (r Rate) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// OpsPerSecond returns operations per second, or 0 when nothing was timed.
func (r Rate) OpsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Result is one scenario's figure on one target.
type Result struct {
	// Key identifies the scenario across targets (push-large,
	// manifest-get-1tag, ...); Label describes it.
	Key, Label string
	Value      float64
	Unit       string
	// Measure is the figure in its ceiling's unit (MB/s, or requests/s
	// for request scenarios); Ratio is its ratio to the ceiling, set when
	// the table is written (0 when unknown).
	Measure float64
	Ratio   float64
	Ceiling string
	// Rounds, for a scenario measured in rounds, holds the figure of each
	// round (Value and Measure are its median), and Ratios each round's
	// figure over the ceiling measured in the same round (Ratio is their
	// median). Both are empty for a scenario measured once, whose Ratio
	// is Measure over the median ceiling.
	Rounds []float64
	Ratios []float64
	// PeakRSSKiB is the server's VmHWM after the scenario (0: unknown).
	PeakRSSKiB int64
}

// TargetReport holds one registry's figures.
type TargetReport struct {
	Name, URL string
	Results   []Result
}

// PeakRSSKiB is the server's peak RSS over the run (0: unknown).
func (t *TargetReport) PeakRSSKiB() int64 {
	var m int64
	for _, r := range t.Results {
		m = max(m, r.PeakRSSKiB)
	}
	return m
}

// Result returns the result for key.
func (t *TargetReport) Result(key string) (Result, bool) {
	for _, r := range t.Results {
		if r.Key == key {
			return r, true
		}
	}
	return Result{}, false
}

// Report holds a run's figures.
type Report struct {
	Layers      int
	LayerSize   int64
	Concurrency int
	// ManifestConcurrency is the hello ceiling's concurrency.
	ManifestConcurrency int
	// Rounds is how many rounds the ceiling-relative scenarios took.
	Rounds   int
	Ceilings Ceilings
	Targets  []*TargetReport
}

// setRatios sets every result's ratio: the median of its per-round ratios
// when it was measured in rounds, else its figure over the median ceiling.
func (r *Report) setRatios() {
	for _, t := range r.Targets {
		for i := range t.Results {
			res := &t.Results[i]
			if len(res.Ratios) > 0 {
				res.Ratio = median(res.Ratios)
			} else {
				res.Ratio = ratio(res.Measure, r.Ceilings.figure(res.Ceiling))
			}
		}
	}
}

// targetRatio is a's figure over b's. For results taken in rounds it is the
// median of the per-round ratios: within a round the two were measured next
// to each other, while the machine drifts between rounds.
func targetRatio(a, b Result) float64 {
	if len(a.Rounds) == 0 || len(a.Rounds) != len(b.Rounds) {
		return ratio(a.Value, b.Value)
	}
	rs := make([]float64, len(a.Rounds))
	for i := range a.Rounds {
		rs[i] = ratio(a.Rounds[i], b.Rounds[i])
	}
	return median(rs)
}

// roundRatios returns each round's figure over the ceiling measured in the
// same round (0 where that ceiling is 0).
func roundRatios(figures, ceilings []float64) []float64 {
	out := make([]float64, len(figures))
	for i, f := range figures {
		if i < len(ceilings) {
			out[i] = ratio(f, ceilings[i])
		}
	}
	return out
}

// median returns the middle of xs, the mean of the two middle values for
// an even count, or 0 for none. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// medianOf returns the median of f over xs.
func medianOf[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	return median(vs)
}

// ratio returns a over b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

func fmtValue(v float64) string {
	if v == 0 {
		return "-"
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// WriteTable computes the ratios, then writes the ceilings (medians of their
// rounds), then one row per scenario with each target's figure and ratio
// to the ceiling and, for two targets, the first figure over the second.
func (r *Report) WriteTable(w io.Writer) error {
	r.setRatios()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Ceilings
	image := fmt.Sprintf("%d x %s, c=%d", r.Layers, formatSize(r.LayerSize), r.Concurrency)
	rows := [][]string{
		{"ceiling", "figure", "unit"},
		{"sha256 (1 core)", fmtValue(c.SHA256.MBps()), "MB/s"},
		{"PUT one-pass hash+write+fsync " + image, fmtValue(c.PutMBps()), "MB/s"},
		{"GET sendfile, client sha256 " + image, fmtValue(c.GetMBps()), "MB/s"},
		{fmt.Sprintf("hello handler, c=%d", r.ManifestConcurrency), fmtValue(c.HelloPerSecond()), "req/s"},
	}
	if err := writeRows(tw, rows); err != nil {
		return err
	}
	if r.Rounds > 0 {
		if _, err := fmt.Fprintln(tw, roundsNote(r.Rounds)); err != nil {
			return err
		}
	}
	if len(r.Targets) == 0 {
		return tw.Flush()
	}
	fmt.Fprintln(tw)
	head := []string{"scenario", "unit", "ceiling"}
	for _, t := range r.Targets {
		head = append(head, t.Name, "/ceiling")
	}
	two := len(r.Targets) == 2
	if two {
		head = append(head, r.Targets[0].Name+"/"+r.Targets[1].Name)
	}
	rows = [][]string{head}
	for _, res := range r.Targets[0].Results {
		row := []string{res.Label, res.Unit, res.Ceiling}
		var found []Result
		for _, t := range r.Targets {
			o, ok := t.Result(res.Key)
			if !ok {
				row = append(row, "-", "-")
				continue
			}
			row = append(row, fmtValue(o.Value), fmtRatio(o.Ratio))
			found = append(found, o)
		}
		if two {
			cell := fmtRatio(0)
			if len(found) == 2 {
				cell = fmtRatio(targetRatio(found[0], found[1]))
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	rss := []string{"peak RSS (VmHWM)", "MiB", "-"}
	for _, t := range r.Targets {
		v := "-"
		if k := t.PeakRSSKiB(); k > 0 {
			v = fmt.Sprintf("%.0f", float64(k)/1024)
		}
		rss = append(rss, v, "-")
	}
	if two {
		rss = append(rss, "-")
	}
	rows = append(rows, rss)
	if err := writeRows(tw, rows); err != nil {
		return err
	}
	if err := r.writeRounds(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// writeRounds lists each round of the scenarios taken in rounds, so that a
// reader can see the spread behind a median.
func (r *Report) writeRounds(w io.Writer) error {
	rows := [][]string{{"per round: figure (ratio to the ceilings around it)"}}
	for _, t := range r.Targets {
		for _, res := range t.Results {
			if len(res.Rounds) < 2 {
				continue
			}
			row := []string{res.Label, t.Name}
			for i, v := range res.Rounds {
				cell := fmtValue(v)
				if i < len(res.Ratios) {
					cell += " (" + fmtRatio(res.Ratios[i]) + ")"
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 1 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	return writeRows(w, rows)
}

// roundsNote says how the ceilings and the ratios were taken.
func roundsNote(n int) string {
	rounds := fmt.Sprintf("%d rounds", n)
	if n == 1 {
		rounds = "1 round"
	}
	return "PUT, GET, hello, push-large, pull-large, manifest-get: medians of " + rounds +
		"; ratio = median over rounds of figure / mean of the ceilings measured just before and after it, and of one registry's figure / the other's in the same round (other scenarios: one run, figure/median ceiling)"
}

func writeRows(w io.Writer, rows [][]string) error {
	for _, row := range rows {
		if _, err := fmt.Fprintln(w, strings.Join(row, "\t")+"\t"); err != nil {
			return err
		}
	}
	return nil
}

// formatSize renders a byte count in the largest binary unit dividing it.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
