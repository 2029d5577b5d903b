package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/server"
)

// usageCmd prints each repository's storage usage (images, tags, raw and
// deduplicated bytes) from the metadata store the server settings select.
func usageCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: berth usage [flags]\n\nPrints per-repository usage. Takes the server's flags (data-dir, metadata, blob-store, ...).\n\nFlags:\n")
		config.Usage(stdout)
		return nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "berth usage: %v\nRun 'berth usage --help' for usage.\n", err)
		return errUsage
	}
	return server.PrintUsage(ctx, cfg, cfg.NewLogger(stderr), stdout)
}
