package gc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-registry/berth/internal/meta"
)

// Usage bounds.
const (
	// DefaultUsageTTL is how long computed usage is served from cache.
	DefaultUsageTTL = time.Minute
	// DefaultMaxUsageRepositories bounds the repositories the metrics
	// report (each is a few indexed aggregate queries), so a scrape of a huge
	// registry stays cheap; the rest is counted in
	// berth_usage_repositories_omitted.
	DefaultMaxUsageRepositories = 1000
	usageTimeout                = 30 * time.Second
)

// RepositoryUsage lists the usage of up to limit repositories in name order
// (limit <= 0: all).
func RepositoryUsage(ctx context.Context, m meta.Store, limit int) (usage []meta.RepositoryUsage, more bool, err error) {
	after := ""
	for {
		page := 500
		if limit > 0 {
			page = min(page, limit-len(usage)+1)
		}
		repos, err := m.ListRepositories(ctx, after, page)
		if err != nil {
			return nil, false, fmt.Errorf("usage: list repositories: %w", err)
		}
		for _, r := range repos {
			if limit > 0 && len(usage) == limit {
				return usage, true, nil
			}
			u, err := m.RepositoryUsage(ctx, r.Name)
			if err != nil {
				return nil, false, fmt.Errorf("usage: %w", err)
			}
			usage = append(usage, *u)
		}
		if len(repos) < page {
			return usage, false, nil
		}
		after = repos[len(repos)-1].Name
	}
}

// WriteUsage prints usage as an aligned table.
func WriteUsage(w io.Writer, usage []meta.RepositoryUsage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "REPOSITORY\tIMAGES\tTAGGED\tTAGS\tRAW BYTES\tDEDUP BYTES\t\n")
	var total meta.RepositoryUsage
	for _, u := range usage {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", u.Repository, u.Images, u.Tagged, u.Tags, u.RawBytes, u.DedupBytes)
		total.Images += u.Images
		total.Tagged += u.Tagged
		total.Tags += u.Tags
		total.RawBytes += u.RawBytes
		total.DedupBytes += u.DedupBytes
	}
	fmt.Fprintf(tw, "TOTAL (%d)\t%d\t%d\t%d\t%d\t%d\t\n", len(usage), total.Images, total.Tagged, total.Tags, total.RawBytes, total.DedupBytes)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write usage: %w", err)
	}
	return nil
}

// UsageCollector exports per-repository usage as Prometheus gauges. It
// computes usage at most once per TTL, for at most MaxRepositories
// repositories, and serves the cached figures in between; a failed
// computation serves the previous figures.
type UsageCollector struct {
	meta            meta.Store
	ttl             time.Duration
	maxRepositories int
	now             func() time.Time
	log             *slog.Logger

	mu      sync.Mutex
	at      time.Time
	usage   []meta.RepositoryUsage
	omitted bool

	bytes, images, tagged, tags, omittedDesc *prometheus.Desc
}

// NewUsageCollector builds a collector; ttl <= 0 and maxRepos <= 0 take the defaults.
func NewUsageCollector(m meta.Store, ttl time.Duration, maxRepos int, log *slog.Logger) *UsageCollector {
	if ttl <= 0 {
		ttl = DefaultUsageTTL
	}
	if maxRepos <= 0 {
		maxRepos = DefaultMaxUsageRepositories
	}
	if log == nil {
		log = slog.Default()
	}
	repo := []string{"repository"}
	return &UsageCollector{
		meta: m, ttl: ttl, maxRepositories: maxRepos, now: time.Now, log: log,
		bytes: prometheus.NewDesc("berth_repository_bytes",
			"Bytes a repository's manifests reference: dedup counts each blob once, raw once per image.", []string{"repository", "kind"}, nil),
		images:      prometheus.NewDesc("berth_repository_images", "Images (manifests) in a repository.", repo, nil),
		tagged:      prometheus.NewDesc("berth_repository_tagged_images", "Images with at least one tag in a repository.", repo, nil),
		tags:        prometheus.NewDesc("berth_repository_tags", "Tags in a repository.", repo, nil),
		omittedDesc: prometheus.NewDesc("berth_usage_repositories_omitted", "1 when more repositories exist than the usage metrics report.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *UsageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.bytes, c.images, c.tagged, c.tags, c.omittedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *UsageCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || c.now().Sub(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), usageTimeout)
		usage, more, err := RepositoryUsage(ctx, c.meta, c.maxRepositories)
		cancel()
		if err != nil {
			c.log.Warn("compute repository usage", "error", err)
		} else {
			c.usage, c.omitted = usage, more
		}
		c.at = c.now() // also after a failure: do not hammer a failing store
	}
	for _, u := range c.usage {
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(u.DedupBytes), u.Repository, "dedup")
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(u.RawBytes), u.Repository, "raw")
		ch <- prometheus.MustNewConstMetric(c.images, prometheus.GaugeValue, float64(u.Images), u.Repository)
		ch <- prometheus.MustNewConstMetric(c.tagged, prometheus.GaugeValue, float64(u.Tagged), u.Repository)
		ch <- prometheus.MustNewConstMetric(c.tags, prometheus.GaugeValue, float64(u.Tags), u.Repository)
	}
	omitted := 0.0
	if c.omitted {
		omitted = 1
	}
	ch <- prometheus.MustNewConstMetric(c.omittedDesc, prometheus.GaugeValue, omitted)
}
