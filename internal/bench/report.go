package bench

import (
	"fmt"
	"io"
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

// Rate is requests completed in a time.
type Rate struct {
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

// Report holds a run's figures.
type Report struct {
	Layers      int
	LayerSize   int64
	Concurrency int

	// SHA256 is this machine's single-core sha256 speed: the push ceiling.
	SHA256   Throughput
	Push     Throughput
	Pull     Throughput
	Manifest Rate
}

// ratio returns t's speed over the sha256 ceiling, formatted.
func (r *Report) ratio(t Throughput) string {
	ceil := r.SHA256.MBps()
	if ceil == 0 || t.Elapsed <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", t.MBps()/ceil)
}

// WriteTable writes the report as a plain aligned table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	image := fmt.Sprintf("%d x %s, c=%d", r.Layers, formatSize(r.LayerSize), r.Concurrency)
	rows := [][4]string{
		{"scenario", "figure", "unit", "vs sha256"},
		{"sha256 (1 core)", fmt.Sprintf("%.1f", r.SHA256.MBps()), "MB/s", r.ratio(r.SHA256)},
		{"push " + image, fmt.Sprintf("%.1f", r.Push.MBps()), "MB/s", r.ratio(r.Push)},
		{"pull " + image, fmt.Sprintf("%.1f", r.Pull.MBps()), "MB/s", r.ratio(r.Pull)},
		{fmt.Sprintf("manifest GET, c=%d", r.Manifest.Concurrency), fmt.Sprintf("%.0f", r.Manifest.PerSecond()), "req/s", "-"},
	}
	for _, row := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3]); err != nil {
			return err
		}
	}
	return tw.Flush()
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
