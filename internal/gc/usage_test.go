package gc_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-registry/berth/internal/gc"
)

func TestUsage(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, time.Hour, false, nil)
	shared := []byte("shared!") // 7 bytes
	_, err := e.pushImage(ctx, "u/a", "one", "1", shared)
	must(t, err)
	_, err = e.pushImage(ctx, "u/a", "two", "2", shared)
	must(t, err)
	_, err = e.pushImage(ctx, "u/b", "x", "3", []byte("other"))
	must(t, err)
	must(t, e.core.DeleteManifest(ctx, "u/b", "x")) // untagged image

	usage, more, err := gc.RepositoryUsage(ctx, e.meta, 0)
	must(t, err)
	cfg := int64(len(`{"seed":"1"}`))
	if len(usage) != 2 || more {
		t.Fatalf("usage = %+v (more %v)", usage, more)
	}
	a, b := usage[0], usage[1]
	if a.Repository != "u/a" || a.Images != 2 || a.Tagged != 2 || a.Tags != 2 || a.RawBytes != 2*(cfg+7) || a.DedupBytes != 2*cfg+7 {
		t.Errorf("u/a = %+v", a)
	}
	if b.Repository != "u/b" || b.Images != 1 || b.Tagged != 0 || b.Tags != 0 || b.RawBytes != cfg+5 {
		t.Errorf("u/b = %+v", b)
	}
	if limited, more, err := gc.RepositoryUsage(ctx, e.meta, 1); err != nil || len(limited) != 1 || !more {
		t.Errorf("limited to 1: %+v more=%v err=%v", limited, more, err)
	}

	var out bytes.Buffer
	must(t, gc.WriteUsage(&out, usage))
	if !strings.Contains(out.String(), "u/a") || !strings.Contains(out.String(), "TOTAL (2)") {
		t.Errorf("table:\n%s", out.String())
	}

	col := gc.NewUsageCollector(e.meta, time.Hour, 0, quiet())
	reg := prometheus.NewPedanticRegistry()
	must(t, reg.Register(col))
	want := map[string]float64{
		`berth_repository_images{repository="u/a"}`: 2, `berth_repository_images{repository="u/b"}`: 1,
		`berth_repository_tags{repository="u/a"}`: 2, `berth_repository_tags{repository="u/b"}`: 0,
		`berth_repository_bytes{kind="dedup",repository="u/a"}`: float64(2*cfg + 7),
		`berth_usage_repositories_omitted{}`:                    0,
	}
	checkMetrics(t, reg, want)
	// Cached: a change is not seen until the TTL passes.
	_, err = e.pushImage(ctx, "u/b", "y", "4", []byte("other"))
	must(t, err)
	checkMetrics(t, reg, want)
}

func TestReclaimedBytesCounter(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, time.Hour, false, nil)
	reg := prometheus.NewPedanticRegistry()
	col, err := gc.New(e.meta, e.blobs, gc.Config{GracePeriod: time.Hour, Now: e.clock.now}, quiet(), reg)
	must(t, err)
	_, err = e.pushBlob(ctx, "rr", []byte("12345"))
	must(t, err)
	e.clock.add(2 * time.Hour)
	_, err = col.RunOnce(ctx)
	must(t, err)
	checkMetrics(t, reg, map[string]float64{`berth_gc_reclaimed_bytes_total{}`: 5, `berth_gc_deleted_total{kind="blob"}`: 1})
}

// checkMetrics gathers reg and compares the named series (name{labels}).
func checkMetrics(t *testing.T, reg *prometheus.Registry, want map[string]float64) {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
