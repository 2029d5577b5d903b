package bench

import (
	"fmt"
	"io"
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
	// for request scenarios); Ratio is Measure over the ceiling, set when
	// the run ends (0 when unknown).
	Measure float64
	Ratio   float64
	Ceiling string
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
	Ceilings    Ceilings
	Targets     []*TargetReport
}

// figure returns the named ceiling's figure (0 when unknown).
func (c Ceilings) figure(name string) float64 {
	switch name {
	case ceilPut:
		return c.Put.MBps()
	case ceilGet:
		return c.Get.MBps()
	case ceilHello:
		return c.Hello.PerSecond()
	}
	return 0
}

// best keeps, for each ceiling, the faster of c and o.
func (c *Ceilings) best(o Ceilings) {
	if o.SHA256.MBps() > c.SHA256.MBps() {
		c.SHA256 = o.SHA256
	}
	if o.Put.MBps() > c.Put.MBps() {
		c.Put = o.Put
	}
	if o.Get.MBps() > c.Get.MBps() {
		c.Get = o.Get
	}
	if o.Hello.PerSecond() > c.Hello.PerSecond() {
		c.Hello = o.Hello
	}
}

// setRatios computes every result's ratio to the run's ceilings.
func (r *Report) setRatios() {
	for _, t := range r.Targets {
		for i := range t.Results {
			res := &t.Results[i]
			res.Ratio = ratio(res.Measure, r.Ceilings.figure(res.Ceiling))
		}
	}
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
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// WriteTable computes the ratios, then writes the ceilings, then one row per scenario with each
// target's figure and ratio to the ceiling and, for two targets, the first
// over the second.
func (r *Report) WriteTable(w io.Writer) error {
	r.setRatios()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c := r.Ceilings
	image := fmt.Sprintf("%d x %s, c=%d", r.Layers, formatSize(r.LayerSize), r.Concurrency)
	rows := [][]string{
		{"ceiling", "figure", "unit"},
		{"sha256 (1 core)", fmtValue(c.SHA256.MBps()), "MB/s"},
		{"PUT one-pass hash+write+fsync " + image, fmtValue(c.Put.MBps()), "MB/s"},
		{"GET sendfile, client sha256 " + image, fmtValue(c.Get.MBps()), "MB/s"},
		{fmt.Sprintf("hello handler, c=%d", c.Hello.Concurrency), fmtValue(c.Hello.PerSecond()), "req/s"},
	}
	if err := writeRows(tw, rows); err != nil {
		return err
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
		var vals []float64
		for _, t := range r.Targets {
			o, ok := t.Result(res.Key)
			if !ok {
				row = append(row, "-", "-")
				vals = append(vals, 0)
				continue
			}
			row = append(row, fmtValue(o.Value), fmtRatio(o.Ratio))
			vals = append(vals, o.Value)
		}
		if two {
			row = append(row, fmtRatio(ratio(vals[0], vals[1])))
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
	return tw.Flush()
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
