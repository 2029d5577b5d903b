// Command berth runs the Berth container registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/logging"
	"github.com/berth-registry/berth/internal/server"
)

// Set at build time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

// command is a subcommand. run gets the arguments after the subcommand name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands.
var commands = []command{
	{"serve", "run the registry server", serve},
	{"bench", "measure a registry's throughput (push, pull, manifest GET)", benchCmd},
	{"bench-ceiling", "the ideal server `berth bench` measures its ceilings against (started by bench)", benchCeilingCmd},
	{"usage", "print per-repository storage usage (images, tags, bytes)", usageCmd},
	{"vulndb", "import or update the vulnerability database image scans use", vulndbCmd},
	{"version", "print version information", printVersion},
}

// errUsage reports a command line mistake already explained to the user.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "berth %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "berth: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Berth is a self-hosted container registry compatible with AWS ECR.\n\nUsage: berth <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'berth <command> --help' for a command's flags.\n")
}

// serveGCPercent is berth serve's GOGC unless the environment sets one.
const serveGCPercent = 400

// setServerGC applies serveGCPercent unless GOGC is set. A server's heap is
// small and mostly short-lived request garbage: a higher GC target trades a
// few MiB for less collection work per request.
func setServerGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
}

// serve runs the server until SIGINT or SIGTERM, then shuts down gracefully.
// A second signal kills the process at once.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: berth serve [flags]\n\nFlags (precedence: flag > environment > config file > default):\n")
		config.Usage(stdout)
		return nil
	}
	if err == nil {
		err = cfg.ValidateNode()
	}
	if err != nil {
		fmt.Fprintf(stderr, "berth serve: %v\nRun 'berth serve --help' for usage.\n", err)
		return errUsage
	}
	setServerGC()
	// A busy server logs a line per request: batch the writes.
	logOut := logging.NewBufferedWriter(stderr, logging.DefaultFlushInterval)
	defer logOut.Close()
	// Warnings and errors are written at once, never held in the buffer.
	log := slog.New(logging.FlushAtLevel(cfg.NewLogger(logOut).Handler(), logOut, slog.LevelWarn))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling so a second signal terminates
	}()
	v, c, _ := versionInfo()
	log.Info("starting berth", "version", v, "commit", c)
	// The root credentials generated at the first start go to stderr once,
	// never to the log.
	srv, err := server.New(ctx, cfg, log, server.WithAnnounce(stderr))
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

func printVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "berth version: takes no arguments\n")
		return errUsage
	}
	v, c, goVersion := versionInfo()
	fmt.Fprintf(stdout, "berth %s\ncommit %s\n%s\n", v, c, goVersion)
	return nil
}

// versionInfo returns the version and commit from -ldflags, falling back to
// what the Go toolchain recorded in the binary.
func versionInfo() (ver, rev, goVersion string) {
	ver, rev, goVersion = version, commit, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" {
			ver = bi.Main.Version // "(devel)" unless built by go install module@version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && rev != "" && commit == "" {
			rev += "-dirty"
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, goVersion
}
