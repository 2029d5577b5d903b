package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-registry/berth/internal/bench"
)

// benchCmd runs the load tool against one registry URL, or two side by side.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	var t, cmp bench.Target
	var scenarios string
	fs.StringVar(&t.Name, "name", "", "label of the registry's column (default: its host)")
	fs.StringVar(&t.URL, "url", "http://127.0.0.1:5000", "registry base URL")
	fs.StringVar(&t.Username, "username", "", "basic auth user (password: $BERTH_BENCH_PASSWORD)")
	fs.BoolVar(&t.ECR, "ecr", false, "log in with ECR GetAuthorizationToken (AWS SDK default credential chain) against --url")
	fs.IntVar(&t.ServerPID, "server-pid", 0, "registry process id: report its peak RSS (VmHWM)")
	fs.StringVar(&cmp.Name, "compare-name", "", "label of the second registry's column")
	fs.StringVar(&cmp.URL, "compare-url", "", "a second registry to measure in the same run (no auth)")
	fs.IntVar(&cmp.ServerPID, "compare-pid", 0, "second registry's process id")
	fs.StringVar(&o.Repository, "repository", "berth-bench", "repository name prefix (a fresh one per run)")
	fs.IntVar(&o.Layers, "layers", 4, "layers in the large image")
	fs.Int64Var(&o.LayerSize, "layer-size", 64<<20, "bytes per large layer")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "large layers pushed or pulled at once")
	fs.IntVar(&o.ManifestConcurrency, "manifest-concurrency", 64, "concurrent manifest GET/HEAD loops (and hello ceiling)")
	fs.IntVar(&o.SmallImages, "small-images", 500, "images in push-small")
	fs.IntVar(&o.SmallConcurrency, "small-concurrency", 16, "push-small concurrency")
	fs.IntVar(&o.Tags, "tags", 5000, "tags added by tag-put")
	fs.IntVar(&o.TagPageSize, "tag-page", 100, "tags-list page size (n)")
	fs.IntVar(&o.MixedConcurrency, "mixed-concurrency", 32, "mixed scenario concurrency")
	fs.DurationVar(&o.Duration, "duration", 0, "run time of each timed scenario (default 10s); a scenario in rounds gives each round duration/rounds")
	fs.IntVar(&o.Rounds, "rounds", 0, "rounds of push-large, pull-large and manifest-get, every registry measured between two ceiling measurements; figures and ratios are medians over rounds, 1..50 (default 7; 1 with --smoke)")
	fs.StringVar(&o.CeilingDir, "ceiling-dir", "", "directory for the fsync ceiling's files: the registry's file system (default $TMPDIR)")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios (default all: "+strings.Join(bench.AllScenarios, ",")+")")
	fs.BoolVar(&o.Smoke, "smoke", false, "tiny sizes and durations: a correctness check, not a measurement")
	inProcess := fs.Bool("ceiling-in-process", false, "run the ceilings' ideal server inside the bench process instead of in a process of its own")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 0 {
		return errUsage
	}
	if scenarios != "" {
		o.Scenarios = strings.Split(scenarios, ",")
	}
	// The password comes from the environment so it stays out of process listings.
	if t.Username != "" {
		t.Password = os.Getenv("BERTH_BENCH_PASSWORD")
	}
	o.Targets = []bench.Target{t}
	if cmp.URL != "" {
		o.Targets = append(o.Targets, cmp)
	}
	if !*inProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find own executable for the ceiling server: %w", err)
		}
		o.CeilingCommand = []string{exe, "bench-ceiling"}
	}
	if _, err := bench.Run(ctx, o, stdout); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// benchCeilingCmd serves the ceilings' ideal server for a parent `berth
// bench` until the parent closes its standard input.
func benchCeilingCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for the PUT ceiling's files (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 0 || *dir == "" {
		fmt.Fprintln(stderr, "berth bench-ceiling: --dir is required")
		return errUsage
	}
	// The ideal server runs with berth serve's GC setting, so that the hello
	// ceiling does not pay for collections berth itself is spared.
	setServerGC()
	return bench.RunCeilingProcess(ctx, *dir, os.Stdin, stdout)
}
