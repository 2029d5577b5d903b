package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/berth-registry/berth/internal/bench"
)

// benchCmd runs the load tool against a registry URL.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:5000", "registry base URL")
	fs.StringVar(&o.Username, "username", "", "basic auth user (AWS for an ECR login token)")
	fs.StringVar(&o.Repository, "repository", "berth-bench", "repository to push to and pull from")
	fs.IntVar(&o.Layers, "layers", 4, "layers in the random image")
	fs.Int64Var(&o.LayerSize, "layer-size", 64<<20, "bytes per layer")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "layers pushed or pulled at once")
	fs.IntVar(&o.ManifestConcurrency, "manifest-concurrency", 64, "concurrent manifest GET loops")
	fs.DurationVar(&o.Duration, "duration", 0, "manifest GET run time (default 10s)")
	fs.BoolVar(&o.Smoke, "smoke", false, "tiny sizes and durations: a correctness check, not a measurement")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	// The password comes from the environment so it stays out of process listings.
	o.Password = os.Getenv("BERTH_BENCH_PASSWORD")
	if _, err := bench.Run(ctx, o, stdout); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
