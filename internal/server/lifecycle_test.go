package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/lifecycle"
	"github.com/berth-registry/berth/internal/meta/sqlite"
	"github.com/berth-registry/berth/internal/registry"
)

// schedClock is a settable clock for the core.
type schedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *schedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *schedClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newLifecycleCore is a core on real stores with two repositories, three
// images each, and a policy keeping the newest image.
func newLifecycleCore(t *testing.T) (*registry.Registry, *schedClock) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, dir+"/meta.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fs.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	clock := &schedClock{t: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	core := registry.New(m, b, registry.Config{CreateOnPush: true, RegistryID: "123456789012", Now: clock.now}, slog.New(slog.DiscardHandler))
	policy := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	policy += strings.Repeat(" ", max(0, lifecycle.MinTextLength-len(policy)))
	for _, repo := range []string{"a/one", "b/two"} {
		for i := range 3 {
			cfg := []byte(fmt.Sprintf(`{"repo":%q,"n":%d}`, repo, i))
			if _, err := core.PutBlob(ctx, repo, digest.FromBytes(cfg), bytes.NewReader(cfg)); err != nil {
				t.Fatal(err)
			}
			manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`,
				registry.MediaTypeOCIManifest, digest.FromBytes(cfg), len(cfg))
			if _, err := core.PutManifest(ctx, repo, fmt.Sprintf("t%d", i), registry.MediaTypeOCIManifest, []byte(manifest), nil); err != nil {
				t.Fatal(err)
			}
			clock.add(time.Minute)
		}
		if _, err := core.PutLifecyclePolicy(ctx, repo, policy); err != nil {
			t.Fatal(err)
		}
	}
	return core, clock
}

func imageCount(t *testing.T, core *registry.Registry, repo string) int {
	t.Helper()
	imgs, _, err := core.ListImages(context.Background(), repo, "", 100, registry.TagStatusAny)
	if err != nil {
		t.Fatal(err)
	}
	return len(imgs)
}

// TestLifecycleSchedulersTakeTurns runs two schedulers (two nodes) over one
// metadata store at once: exactly one runs the pass; the other runs only
// once the pass lease has expired.
func TestLifecycleSchedulersTakeTurns(t *testing.T) {
	ctx := context.Background()
	core, clock := newLifecycleCore(t)
	nodes := []*LifecycleScheduler{
		NewLifecycleScheduler(core, time.Hour, slog.New(slog.DiscardHandler)),
		NewLifecycleScheduler(core, time.Hour, slog.New(slog.DiscardHandler)),
	}
	ran := make([]bool, len(nodes))
	runs := make([]int, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, rs, err := n.Pass(ctx)
			if err != nil {
				t.Errorf("node %d: %v", i, err)
			}
			ran[i], runs[i] = ok, len(rs)
		}()
	}
	wg.Wait()
	if ran[0] == ran[1] {
		t.Fatalf("ran = %v, want exactly one node to run", ran)
	}
	winner, loser := 0, 1
	if ran[1] {
		winner, loser = 1, 0
	}
	if runs[winner] != 2 {
		t.Fatalf("the running node evaluated %d repositories, want 2", runs[winner])
	}
	for _, repo := range []string{"a/one", "b/two"} {
		if n := imageCount(t, core, repo); n != 1 {
			t.Fatalf("%s has %d images, want 1", repo, n)
		}
		p, err := core.GetLifecyclePolicy(ctx, repo)
		if err != nil || p.LastEvaluatedAt == nil {
			t.Fatalf("%s: lastEvaluatedAt = %+v, %v", repo, p, err)
		}
	}
	// Within the interval the other node still waits its turn.
	if ok, _, err := nodes[loser].Pass(ctx); err != nil || ok {
		t.Fatalf("second node within the interval: ran=%v, %v", ok, err)
	}
	clock.add(time.Hour + time.Second)
	if ok, _, err := nodes[loser].Pass(ctx); err != nil || !ok {
		t.Fatalf("second node after the interval: ran=%v, %v", ok, err)
	}
}

// TestLifecycleRunsInServe checks the hook: a served Berth with a short
// interval applies policies by itself.
func TestLifecycleRunsInServe(t *testing.T) {
	cfg := testConfig(t)
	cfg.LifecycleInterval = 20 * time.Millisecond
	cfg.CreateOnPush = true
	s, logs := newServer(t, cfg)
	ctx := context.Background()
	policy := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	policy += strings.Repeat(" ", max(0, lifecycle.MinTextLength-len(policy)))
	for i := range 2 {
		cfgBlob := []byte(fmt.Sprintf(`{"n":%d}`, i))
		if _, err := s.core.PutBlob(ctx, "srv/app", digest.FromBytes(cfgBlob), bytes.NewReader(cfgBlob)); err != nil {
			t.Fatal(err)
		}
		manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`,
			registry.MediaTypeOCIManifest, digest.FromBytes(cfgBlob), len(cfgBlob))
		if _, err := s.core.PutManifest(ctx, "srv/app", fmt.Sprintf("t%d", i), registry.MediaTypeOCIManifest, []byte(manifest), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.core.PutLifecyclePolicy(ctx, "srv/app", policy); err != nil {
		t.Fatal(err)
	}
	_, stop := start(t, s)
	deadline := time.Now().Add(time.Minute) // a backstop, not a speed check
	for !strings.Contains(logs.String(), `"event":"LifecyclePolicyAction"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no lifecycle action logged; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"repository":"srv/app"`) {
		t.Fatalf("the audit event does not name the repository:\n%s", logs.String())
	}
}
