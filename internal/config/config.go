// Package config loads Berth's settings. Every setting has a flag, a BERTH_*
// environment variable and a key in an optional YAML file, all derived from
// one entry in the settings table. Precedence: flag > env > file > default.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the server configuration.
type Config struct {
	Listen    string
	DataDir   string
	PublicURL string
	// PublicURLDerived is set when PublicURL was guessed from the listen
	// address rather than configured; it is then unfit for absolute
	// redirects (a client may know the server by another name).
	PublicURLDerived bool `yaml:"-"`
	LogLevel         string
	LogFormat        string
	CreateOnPush     bool
	UploadTTL        time.Duration
	ShutdownTimeout  time.Duration
	TLSCert          string
	TLSKey           string
	DebugPprof       bool
	// AccountID is the 12-digit registry/account id; empty means the stored
	// one, or one generated at the first start.
	AccountID string
	// Region appears in ARNs and is the only region SigV4 scopes may name.
	Region string
	// MasterKeyFile holds the key sealing secrets at rest; default
	// <data-dir>/master.key. Every node of a deployment needs the same one.
	MasterKeyFile string
	// RootAccessKeyID and RootSecretAccessKey set the root access key (both
	// or neither; meant for the environment, where they do not show in the
	// process list). Unset: the stored key, or one generated and printed once.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// BlobStore is "" (the filesystem under DataDir) or an s3:// URL.
	BlobStore string
	// BlobRedirect answers blob GETs and layer download URLs with redirects
	// to presigned URLs when the blob store can presign (S3).
	BlobRedirect bool
	// Metadata is "" (embedded SQLite under DataDir) or a postgres:// URL.
	Metadata string
	// MetadataMaxConns and MetadataConnLifetime tune the PostgreSQL pools
	// (0: the DSN's pool_* parameters, else pgxpool's defaults).
	MetadataMaxConns     int
	MetadataConnLifetime time.Duration
	// CacheTTL bounds how long a node serves a cached tag or manifest without
	// asking the metadata store (0: 3s with PostgreSQL, exact with SQLite).
	CacheTTL time.Duration
	// GCInterval is how often online garbage collection runs (0: never);
	// GCGracePeriod is how old unreferenced data must be to be collected.
	GCInterval, GCGracePeriod time.Duration
	LifecycleInterval         time.Duration // how often lifecycle policies run (0: never)
	ScanWorkers               int           // concurrent image scans
	ScanQuota                 time.Duration // StartImageScan quota per image (0: unlimited)
}

// setting describes one configuration setting. Its name is the flag name and
// the YAML key; the environment variable is derived from it (EnvName).
type setting struct {
	name  string
	def   string // default, in the same syntax as the flag
	usage string
	field func(*Config) any // pointer to the Config field
}

// settings is the single definition of every setting. Adding a setting is a
// Config field plus one line here.
var settings = []setting{
	{"listen", ":5000", "address to listen on (host:port)", func(c *Config) any { return &c.Listen }},
	{"data-dir", "./berth-data", "directory holding metadata and blobs", func(c *Config) any { return &c.DataDir }},
	{"public-url", "", "URL clients reach the registry at (default derived from listen)", func(c *Config) any { return &c.PublicURL }},
	{"log-level", "info", "log level: debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
	{"log-format", "json", "log format: json or text", func(c *Config) any { return &c.LogFormat }},
	{"create-on-push", "false", "create a missing repository on its first push", func(c *Config) any { return &c.CreateOnPush }},
	{"upload-ttl", "24h", "how long an idle upload session lives", func(c *Config) any { return &c.UploadTTL }},
	{"shutdown-timeout", "30s", "how long in-flight requests may run after a shutdown signal", func(c *Config) any { return &c.ShutdownTimeout }},
	{"tls-cert", "", "TLS certificate file (PEM); serve HTTPS when set with tls-key", func(c *Config) any { return &c.TLSCert }},
	{"tls-key", "", "TLS private key file (PEM)", func(c *Config) any { return &c.TLSKey }},
	{"debug-pprof", "false", "serve /debug/pprof/ (exposes internals: trusted networks only)", func(c *Config) any { return &c.DebugPprof }},
	{"account-id", "", "12-digit account id (default: generated once and stored)", func(c *Config) any { return &c.AccountID }},
	{"region", "us-east-1", "AWS region the registry answers as (ARNs, SigV4 scope)", func(c *Config) any { return &c.Region }},
	{"master-key-file", "", "file holding the master key that seals secrets (default <data-dir>/master.key; created if missing)", func(c *Config) any { return &c.MasterKeyFile }},
	{"root-access-key-id", "", "root access key id (use the environment variable; default: stored or generated once)", func(c *Config) any { return &c.RootAccessKeyID }},
	{"root-secret-access-key", "", "root secret access key (use the environment variable, never the flag)", func(c *Config) any { return &c.RootSecretAccessKey }},
	{"blob-store", "", "blob store: empty for the filesystem under data-dir, or s3://BUCKET/PREFIX?endpoint=URL&region=R&path-style=true", func(c *Config) any { return &c.BlobStore }},
	{"blob-redirect", "false", "redirect blob downloads to presigned blob-store URLs (S3 only)", func(c *Config) any { return &c.BlobRedirect }},
	{"metadata", "", "metadata store: empty for SQLite under data-dir, or postgres://USER@HOST:PORT/DB?sslmode=disable", func(c *Config) any { return &c.Metadata }},
	{"metadata-max-conns", "0", "PostgreSQL: connections per pool (0: the DSN's pool_max_conns or pgx's default)", func(c *Config) any { return &c.MetadataMaxConns }},
	{"metadata-conn-lifetime", "0s", "PostgreSQL: close pooled connections after this long (0: the DSN's or pgx's default)", func(c *Config) any { return &c.MetadataConnLifetime }},
	{"cache-ttl", "0s", "how long a cached tag or manifest is served unchecked (0: 3s with PostgreSQL, exact with SQLite)", func(c *Config) any { return &c.CacheTTL }},
	{"gc-interval", "1h", "how often online garbage collection reclaims unreferenced blobs (0: never)", func(c *Config) any { return &c.GCInterval }},
	{"gc-grace-period", "24h", "how long an unreferenced blob or blob link is kept before garbage collection may reclaim it", func(c *Config) any { return &c.GCGracePeriod }},
	{"lifecycle-interval", "1h", "how often every repository's lifecycle policy is evaluated and applied (0: never)", func(c *Config) any { return &c.LifecycleInterval }},
	{"scan-workers", "1", "concurrent image scans (0: none on this node)", func(c *Config) any { return &c.ScanWorkers }},
	{"scan-quota", "24h", "how often StartImageScan may scan one image (0: unlimited)", func(c *Config) any { return &c.ScanQuota }},
}

// configSetting names the YAML file. It is a flag and an environment variable
// but naturally not a key in the file itself.
const configSetting = "config"

// maxFileSize bounds the YAML file read.
const maxFileSize = 1 << 20

// EnvName is the environment variable for a setting name: BERTH_ + upper snake case.
func EnvName(name string) string {
	return "BERTH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// set parses s into the setting's field.
func (st setting) set(c *Config, s string) error {
	switch p := st.field(c).(type) {
	case *string:
		*p = s
	case *bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		*p = v
	case *time.Duration:
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (use e.g. 90s, 15m, 24h)", s)
		}
		*p = v
	default:
		// Only reachable if the table names a field of an unhandled type;
		// TestSettingsTable catches that.
		return fmt.Errorf("setting %s has unsupported type %T", st.name, p)
	}
	return nil
}

func (st setting) isBool() bool {
	_, ok := st.field(&Config{}).(*bool)
	return ok
}

// Default returns the configuration with every default applied (PublicURL
// stays empty until Load derives it).
func Default() Config {
	var c Config
	for _, st := range settings {
		if err := st.set(&c, st.def); err != nil {
			// The defaults are constants checked by tests.
			panic(fmt.Sprintf("config: bad default for %s: %v", st.name, err))
		}
	}
	return c
}

// rawFlag records a flag's value as given; it is applied after the file and
// the environment so that precedence does not depend on parse order.
type rawFlag struct {
	value  string
	isBool bool
}

func (f *rawFlag) String() string     { return f.value }
func (f *rawFlag) Set(s string) error { f.value = s; return nil }
func (f *rawFlag) IsBoolFlag() bool   { return f.isBool }

// Load builds the configuration from defaults, the YAML file named by
// --config (or BERTH_CONFIG), the environment and args, in increasing order
// of precedence. Empty environment variables count as unset. It returns
// flag.ErrHelp when args ask for help.
func Load(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	fs := flag.NewFlagSet("berth serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	raw := make(map[string]*rawFlag, len(settings))
	for _, st := range settings {
		raw[st.name] = &rawFlag{isBool: st.isBool()}
		fs.Var(raw[st.name], st.name, st.usage)
	}
	configPath := fs.String(configSetting, "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	env := func(name string) (string, bool) {
		v, ok := lookupEnv(EnvName(name))
		return v, ok && v != ""
	}

	c := Default()
	path := *configPath
	if !given[configSetting] {
		path, _ = env(configSetting)
	}
	if path != "" {
		if err := c.loadFile(path); err != nil {
			return Config{}, err
		}
	}
	for _, st := range settings {
		if v, ok := env(st.name); ok {
			if err := st.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("environment %s: %w", EnvName(st.name), err)
			}
		}
	}
	for _, st := range settings {
		if given[st.name] {
			if err := st.set(&c, raw[st.name].value); err != nil {
				return Config{}, fmt.Errorf("flag --%s: %w", st.name, err)
			}
		}
	}
	if err := c.finish(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loadFile applies the settings in a YAML file: a mapping of setting names to
// scalars. Unknown and duplicate keys are errors so typos do not go unnoticed.
func (c *Config) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return fmt.Errorf("config file %s: larger than %d bytes", path, maxFileSize)
	}
	if err := c.applyYAML(data); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

func (c *Config) applyYAML(data []byte) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) { // empty file
			return nil
		}
		return err
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of setting names to values", root.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		st, ok := lookup(k.Value)
		if k.Kind != yaml.ScalarNode || !ok {
			return fmt.Errorf("line %d: unknown key %q", k.Line, k.Value)
		}
		if seen[st.name] {
			return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		seen[st.name] = true
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s: want a single value", v.Line, st.name)
		}
		val := v.Value
		if v.Tag == "!!null" {
			val = ""
		}
		if err := st.set(c, val); err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, st.name, err)
		}
	}
	return nil
}

func lookup(name string) (setting, bool) {
	for _, st := range settings {
		if st.name == name {
			return st, true
		}
	}
	return setting{}, false
}

// finish normalizes, derives PublicURL and validates.
func (c *Config) finish() error {
	c.LogLevel = strings.ToLower(c.LogLevel)
	c.LogFormat = strings.ToLower(c.LogFormat)
	if c.PublicURL == "" {
		if u, err := c.derivePublicURL(); err == nil {
			c.PublicURL = u
			c.PublicURLDerived = true
		}
		// On error Validate reports the bad listen address.
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return c.Validate()
}

// derivePublicURL builds the URL a local client reaches the listener at: the
// listen host, or 127.0.0.1 when it is empty or unspecified.
func (c *Config) derivePublicURL() (string, error) {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if c.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// MasterKeyPath is the master key file: MasterKeyFile, or master.key in the
// data directory.
func (c Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// TLS reports whether the server serves HTTPS.
func (c Config) TLS() bool { return c.TLSCert != "" && c.TLSKey != "" }

// Validate checks every setting and reports the first problem.
func (c Config) Validate() error {
	if err := validateListen(c.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.DataDir == "" {
		return errors.New("data-dir: must not be empty")
	}
	if err := validatePublicURL(c.PublicURL); err != nil {
		return fmt.Errorf("public-url: %w", err)
	}
	if _, ok := levels[c.LogLevel]; !ok {
		return fmt.Errorf("log-level: unknown level %q (want debug, info, warn or error)", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("log-format: unknown format %q (want json or text)", c.LogFormat)
	}
	if c.UploadTTL <= 0 {
		return fmt.Errorf("upload-ttl: must be positive, got %s", c.UploadTTL)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown-timeout: must be positive, got %s", c.ShutdownTimeout)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key must be set together")
	}
	if c.AccountID != "" && !accountIDPattern.MatchString(c.AccountID) {
		return fmt.Errorf("account-id: %q must be exactly 12 digits", c.AccountID)
	}
	if !regionPattern.MatchString(c.Region) {
		return fmt.Errorf("region: invalid region %q (e.g. us-east-1)", c.Region)
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		return fmt.Errorf("%s and %s must be set together", EnvName("root-access-key-id"), EnvName("root-secret-access-key"))
	}
	return c.validateScaleOut()
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z0-9-]{2,25}$`) // the ECR model's Region
)

func validateListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port, e.g. :5000", addr)
	}
	// Reject service names (":http") too: a number is unambiguous.
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid port %q in %q: want a number from 0 to 65535", port, addr)
	}
	return nil
}

func validatePublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q", s)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("invalid URL %q: scheme must be http or https", s)
	case u.Host == "":
		return fmt.Errorf("invalid URL %q: missing host", s)
	case u.User != nil:
		return fmt.Errorf("invalid URL %q: must not contain credentials", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		// The OCI API lives at /v2/ under the host root.
		return fmt.Errorf("invalid URL %q: must not have a path, query or fragment", s)
	}
	return nil
}

var levels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// Level is the configured slog level (info when unset or unknown).
func (c Config) Level() slog.Level {
	return levels[c.LogLevel] // the zero Level is info
}

// NewLogger builds the logger the configuration asks for, writing to w.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level()}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Usage writes the help for every setting.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "  --%s FILE\n\tYAML file with settings keyed by flag name (env %s)\n", configSetting, EnvName(configSetting))
	for _, st := range settings {
		arg := ""
		switch st.field(&Config{}).(type) {
		case *string:
			arg = " STRING"
		case *int:
			arg = " INT"
		case *time.Duration:
			arg = " DURATION"
		}
		def := ""
		if st.def != "" {
			def = fmt.Sprintf(", default %q", st.def)
		}
		fmt.Fprintf(w, "  --%s%s\n\t%s (env %s%s)\n", st.name, arg, st.usage, EnvName(st.name), def)
	}
}
