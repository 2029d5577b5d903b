package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/scan"
	"github.com/berth-registry/berth/internal/server"
)

const vulndbUsage = `Usage:
  berth vulndb import [--data-dir DIR | --metadata URL] PATH...
  berth vulndb update [--data-dir DIR | --metadata URL] --source URL

import loads OSV records from zip files (osv.dev's per-ecosystem all.zip) or
directories of OSV JSON files into the registry's metadata store. update
downloads an OSV zip and imports it. Both work whether or not a server runs on
the store; a running server picks the new data up without a restart.
`

// vulndbCmd manages the vulnerability database that image scans match against.
func vulndbCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "update") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, vulndbUsage)
			return nil
		}
		fmt.Fprint(stderr, vulndbUsage)
		return errUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("berth vulndb "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "directory holding metadata and blobs (as for serve)")
	metadata := fs.String("metadata", "", "metadata store URL (as for serve)")
	source := fs.String("source", "", "URL of an OSV zip to download (update)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, vulndbUsage)
			return nil
		}
		return errUsage
	}
	var cfgArgs []string
	if *dataDir != "" {
		cfgArgs = append(cfgArgs, "--data-dir", *dataDir)
	}
	if *metadata != "" {
		cfgArgs = append(cfgArgs, "--metadata", *metadata)
	}
	cfg, err := config.Load(cfgArgs, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "berth vulndb: %v\n", err)
		return errUsage
	}
	switch {
	case sub == "import" && fs.NArg() == 0:
		fmt.Fprint(stderr, "berth vulndb import: no PATH given\n"+vulndbUsage)
		return errUsage
	case sub == "update" && *source == "":
		fmt.Fprint(stderr, "berth vulndb update: --source is required\n"+vulndbUsage)
		return errUsage
	}
	log := cfg.NewLogger(stderr)
	store, err := server.OpenMetadata(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	var st scan.ImportStats
	if sub == "import" {
		st, err = scan.Import(ctx, store, fs.Args()...)
	} else {
		st, err = scan.Update(ctx, store, nil, *source)
	}
	if err != nil {
		return fmt.Errorf("vulndb %s: %w", sub, err)
	}
	fmt.Fprintf(stdout, "imported %d records (%d skipped); data updated %s\n", st.Records, st.Skipped, st.Newest.Format("2006-01-02T15:04:05Z07:00"))
	return nil
}
