package bench_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/bench"
	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/server"
)

// TestSmokeAgainstBerth runs every scenario in smoke mode against a real
// Berth (SQLite, filesystem blobs, auth on) logged in the ECR way: a
// correctness check of the tool and the server (every digest verified),
// never a speed assertion.
func TestSmokeAgainstBerth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	const keyID, secret = "AKIABENCHSMOKE000001", "benchSmokeSecretAccessKey/0123456789abcd"
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = base
	cfg.CreateOnPush = true
	cfg.ShutdownTimeout = time.Minute
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = keyID, secret
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := server.New(context.Background(), cfg, log, server.WithAnnounce(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	// The ECR login uses the SDK's default chain: the environment here.
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	var out bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Options{
		Targets: []bench.Target{{Name: "berth", URL: base, ECR: true, ServerPID: os.Getpid()}},
		Smoke:   true,
		// Smoke keeps an explicit Rounds: take two, so the per-round
		// variants, the rotation and the medians are exercised.
		Rounds:     2,
		CeilingDir: dir,
		// Few loops: the smoke checks correctness on a small machine.
		ManifestConcurrency: 8, MixedConcurrency: 4, TagConcurrency: 4, SmallConcurrency: 4,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	tr := rep.Targets[0]
	for _, key := range []string{"push-large", "pull-large", "manifest-GET-1 tag", "manifest-HEAD-1 tag",
		"tag-put", "manifest-GET-31 tags", "manifest-HEAD-31 tags", "tags-list", "push-small", "mixed"} {
		r, ok := tr.Result(key)
		if !ok {
			t.Errorf("no result for %s", key)
			continue
		}
		if r.Value <= 0 || r.PeakRSSKiB <= 0 {
			t.Errorf("%s: %+v", key, r)
		}
	}
	// The ceiling-relative scenarios took two rounds, each with a ratio to
	// its own round's ceiling; the others one run.
	for _, key := range []string{"push-large", "pull-large", "manifest-GET-1 tag", "manifest-HEAD-31 tags"} {
		r, _ := tr.Result(key)
		if len(r.Rounds) != 2 || len(r.Ratios) != 2 || r.Ratios[0] <= 0 || r.Ratios[1] <= 0 {
			t.Errorf("%s: rounds %v, ratios %v; want 2 of each", key, r.Rounds, r.Ratios)
		}
	}
	if r, _ := tr.Result("tag-put"); len(r.Rounds) != 0 || r.Ratio <= 0 {
		t.Errorf("tag-put: %+v, want one run with a ratio", r)
	}
	c := rep.Ceilings
	// Two rounds, one target bracketed by two ceiling samples each; four
	// manifest measurements (GET and HEAD, before and after tag-put).
	if len(c.Put) != 4 || len(c.Get) != 4 || len(c.Hello) != 16 {
		t.Errorf("ceiling samples: %d PUT, %d GET, %d hello; want 4, 4, 16", len(c.Put), len(c.Get), len(c.Hello))
	}
	if !strings.Contains(out.String(), "medians of 2 rounds") {
		t.Errorf("table without the rounds note:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "peak RSS (VmHWM)") {
		t.Errorf("table without RSS:\n%s", out.String())
	}

	// pull-large alone: the image is placed untimed, so no PUT ceiling is
	// reported, and the pull is still measured against its GET ceiling.
	rep, err = bench.Run(context.Background(), bench.Options{
		Targets: []bench.Target{{Name: "berth", URL: base, ECR: true}}, Smoke: true, CeilingDir: dir,
		Scenarios: []string{bench.ScenarioPullLarge},
	}, io.Discard)
	if err != nil {
		t.Fatalf("pull-large alone: %v", err)
	}
	if r, ok := rep.Targets[0].Result("pull-large"); !ok || r.Value <= 0 {
		t.Errorf("pull-large alone: %+v", r)
	}
	if _, ok := rep.Targets[0].Result("push-large"); ok || len(rep.Ceilings.Put) != 0 || len(rep.Ceilings.Get) == 0 {
		t.Errorf("pull-large alone: push-large reported %v, %d PUT and %d GET ceiling samples; want no push-large, no PUT, some GET",
			ok, len(rep.Ceilings.Put), len(rep.Ceilings.Get))
	}

	// Without credentials the registry refuses, and so does the run.
	_, err = bench.Run(context.Background(), bench.Options{URL: base, Smoke: true, CeilingDir: dir,
		Scenarios: []string{bench.ScenarioPushLarge}}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Fatalf("anonymous run: err = %v, want 401", err)
	}
}
