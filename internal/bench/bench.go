// Package bench is the load tool behind `berth bench`.
//
// One run drives every scenario against one or more registries (push-large,
// pull-large, manifest-get, tag-put, manifest-get with many tags,
// tags-list, push-small, mixed) and prints each figure beside the ratio to
// this machine's ceiling: what an ideal Go server and client reach here
// (single-core sha256, a one-pass fsync'd PUT server, a sendfile GET server
// with a verifying client, a trivial hello handler).
//
// A single short sample on a shared machine is mostly noise, so the
// ceiling-relative scenarios (push-large, pull-large, manifest-get) run in
// Rounds rounds: in each round every target (in an order rotated by round)
// is measured between two measurements of the matching ceiling. A target's
// figure is the median of its rounds, and its ratio the median over rounds
// of its figure over the mean of the two ceilings around it. The other scenarios
// run once for Duration and are compared to the median hello ceiling.
//
// Every figure comes from real HTTP; every pulled byte and every manifest
// is verified against its digest, so a fast wrong answer fails the run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Target is one registry to measure.
type Target struct {
	// Name labels the target's column (default: its host).
	Name string
	// URL is the registry's base URL.
	URL string
	// Username and Password, when Username is set, are sent as basic auth.
	Username string
	Password string
	// ECR logs in with GetAuthorizationToken (AWS SDK default credential
	// chain, endpoint URL) and uses AWS:<token>, as docker-credential-ecr-login.
	ECR bool
	// ServerPID, when set, is the registry's process: its peak RSS (VmHWM)
	// is read from /proc after every scenario.
	ServerPID int
}

// Options configures a run. Zero values take the defaults below.
type Options struct {
	// URL, Username, Password, ECR and ServerPID describe the single target
	// measured when Targets is empty (default URL http://127.0.0.1:5000).
	URL       string
	Username  string
	Password  string
	ECR       bool
	ServerPID int
	// Targets are measured one after the other, after the ceilings.
	Targets []Target

	// Repository and Tag name the large image pushed and pulled
	// (default berth-bench and bench). Small images go to Repository-small.
	Repository string
	Tag        string

	// Layers and LayerSize shape the large image (default 4 x 64 MiB).
	Layers    int
	LayerSize int64
	// Concurrency is the number of layers pushed or pulled at once (default 4).
	Concurrency int
	// ManifestConcurrency is the number of manifest GET/HEAD loops (default 64).
	ManifestConcurrency int
	// SmallImages, SmallLayerSize and SmallConcurrency shape push-small
	// (default 500 images of one 4 KiB layer, 16 at once).
	SmallImages      int
	SmallLayerSize   int64
	SmallConcurrency int
	// Tags is how many tags tag-put adds (default 5000), TagConcurrency how
	// many at once (default 16), TagPageSize the tags-list page (default 100).
	Tags           int
	TagConcurrency int
	TagPageSize    int
	// MixedConcurrency is the number of mixed loops (default 32); one
	// operation in MixedPushEvery is a push, the rest pulls (default 10).
	MixedConcurrency int
	MixedPushEvery   int
	// Duration is how long each timed scenario runs (default 10s); a
	// scenario measured in rounds gives each round Duration/Rounds.
	Duration time.Duration
	// Rounds is how many rounds the ceiling-relative scenarios take
	// (default 7; 1 with Smoke unless set explicitly).
	Rounds int
	// HashBytes is how much data the sha256 ceiling hashes (default 256 MiB).
	HashBytes int64
	// CeilingDir holds the fsync ceiling's files: put it on the registry's
	// file system (default os.TempDir()).
	CeilingDir string
	// CeilingCommand, when set, runs the ideal server in a process of its
	// own (RunCeilingProcess; `berth bench-ceiling`), as registries are:
	// a client and server in one Go runtime skip the cross-process wakeups
	// every real server pays. Empty runs it in this process.
	CeilingCommand []string
	// Scenarios, when set, limits the run to these scenarios (ceilings
	// always run). See AllScenarios.
	Scenarios []string

	// RequestTimeout bounds each small request (default 30s).
	RequestTimeout time.Duration
	// TransferTimeout bounds the whole push and each blob GET (default 10m).
	TransferTimeout time.Duration
	// MaxRequests bounds each timed scenario's operation count whatever the
	// duration (default 50,000,000).
	MaxRequests int64

	// Smoke shrinks sizes and durations so CI can check correctness
	// quickly. It overrides the fields it shrinks; Rounds defaults to 1
	// but an explicit value is kept, so a test can smoke several rounds.
	Smoke bool
}

// Scenario names, in run order.
const (
	ScenarioPushLarge   = "push-large"
	ScenarioPullLarge   = "pull-large"
	ScenarioManifestGet = "manifest-get"
	ScenarioTagPut      = "tag-put"
	ScenarioTagsList    = "tags-list"
	ScenarioPushSmall   = "push-small"
	ScenarioMixed       = "mixed"
)

// AllScenarios lists every scenario in run order. manifest-get runs twice:
// with one tag, and again after tag-put with Tags more.
var AllScenarios = []string{ScenarioPushLarge, ScenarioPullLarge, ScenarioManifestGet,
	ScenarioTagPut, ScenarioTagsList, ScenarioPushSmall, ScenarioMixed}

const (
	maxLayers      = 64
	maxLayerSize   = 1 << 30
	maxTotalBytes  = 4 << 30
	maxHashBytes   = 16 << 30
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
	maxSmallImages = 100_000
	maxSmallLayer  = 16 << 20
	maxTags        = 100_000
	maxPageSize    = 10_000
	maxRounds      = 50
)

// withDefaults fills zero fields, applies Smoke, and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:5000"
	}
	setDefault(&o.Repository, "berth-bench")
	setDefault(&o.Tag, "bench")
	setDefault(&o.Layers, 4)
	setDefault(&o.LayerSize, 64<<20)
	setDefault(&o.Concurrency, 4)
	setDefault(&o.ManifestConcurrency, 64)
	setDefault(&o.SmallImages, 500)
	setDefault(&o.SmallLayerSize, 4<<10)
	setDefault(&o.SmallConcurrency, 16)
	setDefault(&o.Tags, 5000)
	setDefault(&o.TagConcurrency, 16)
	setDefault(&o.TagPageSize, 100)
	setDefault(&o.MixedConcurrency, 32)
	setDefault(&o.MixedPushEvery, 10)
	setDefault(&o.Duration, 10*time.Second)
	if o.Smoke {
		setDefault(&o.Rounds, 1)
	}
	setDefault(&o.Rounds, 7)
	setDefault(&o.HashBytes, 256<<20)
	setDefault(&o.CeilingDir, os.TempDir())
	setDefault(&o.RequestTimeout, 30*time.Second)
	setDefault(&o.TransferTimeout, 10*time.Minute)
	setDefault(&o.MaxRequests, 50_000_000)
	if len(o.Scenarios) == 0 {
		o.Scenarios = AllScenarios
	}
	if o.Smoke {
		o.LayerSize = 1 << 20
		o.SmallImages = min(o.SmallImages, 20)
		o.Tags = min(o.Tags, 30)
		o.TagPageSize = min(o.TagPageSize, 7)
		o.Duration = 300 * time.Millisecond
		o.HashBytes = 16 << 20
	}
	if len(o.Targets) == 0 {
		o.Targets = []Target{{URL: o.URL, Username: o.Username, Password: o.Password, ECR: o.ECR, ServerPID: o.ServerPID}}
	}

	for i := range o.Targets {
		t := &o.Targets[i]
		u, err := url.Parse(t.URL)
		if err != nil {
			return o, fmt.Errorf("bench: registry URL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return o, fmt.Errorf("bench: registry URL %q: want http(s)://host[:port]", t.URL)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return o, fmt.Errorf("bench: registry URL %q: want no path, query or user info", t.URL)
		}
		if t.Name == "" {
			t.Name = u.Host
		}
		if t.ServerPID < 0 {
			return o, fmt.Errorf("bench: server pid %d", t.ServerPID)
		}
	}
	for _, s := range o.Scenarios {
		if !validScenario(s) {
			return o, fmt.Errorf("bench: unknown scenario %q (want one of %v)", s, AllScenarios)
		}
	}
	conc := []int{o.Concurrency, o.ManifestConcurrency, o.SmallConcurrency, o.TagConcurrency, o.MixedConcurrency}
	switch {
	case o.Layers < 1 || o.Layers > maxLayers:
		return o, fmt.Errorf("bench: layers %d out of range 1..%d", o.Layers, maxLayers)
	case o.LayerSize < 1 || o.LayerSize > maxLayerSize:
		return o, fmt.Errorf("bench: layer size %d out of range 1..%d", o.LayerSize, maxLayerSize)
	case int64(o.Layers)*o.LayerSize > maxTotalBytes:
		return o, fmt.Errorf("bench: image of %d bytes exceeds %d", int64(o.Layers)*o.LayerSize, int64(maxTotalBytes))
	case !allIn(conc, 1, maxConcurrency):
		return o, fmt.Errorf("bench: concurrency %v out of range 1..%d", conc, maxConcurrency)
	case o.SmallImages < 1 || o.SmallImages > maxSmallImages:
		return o, fmt.Errorf("bench: small images %d out of range 1..%d", o.SmallImages, maxSmallImages)
	case o.SmallLayerSize < 1 || o.SmallLayerSize > maxSmallLayer:
		return o, fmt.Errorf("bench: small layer size %d out of range 1..%d", o.SmallLayerSize, maxSmallLayer)
	case o.Tags < 1 || o.Tags > maxTags:
		return o, fmt.Errorf("bench: tags %d out of range 1..%d", o.Tags, maxTags)
	case o.TagPageSize < 1 || o.TagPageSize > maxPageSize:
		return o, fmt.Errorf("bench: tag page size %d out of range 1..%d", o.TagPageSize, maxPageSize)
	case o.MixedPushEvery < 1:
		return o, fmt.Errorf("bench: mixed push ratio 1/%d", o.MixedPushEvery)
	case o.Rounds < 1 || o.Rounds > maxRounds:
		return o, fmt.Errorf("bench: rounds %d out of range 1..%d", o.Rounds, maxRounds)
	case o.Duration < 0 || o.Duration > maxDuration:
		return o, fmt.Errorf("bench: duration %s out of range 0..%s", o.Duration, maxDuration)
	case o.HashBytes < 1 || o.HashBytes > maxHashBytes:
		return o, fmt.Errorf("bench: hash bytes %d out of range 1..%d", o.HashBytes, int64(maxHashBytes))
	case o.RequestTimeout < 0 || o.TransferTimeout < 0 || o.MaxRequests < 0:
		return o, errors.New("bench: timeouts and max requests must not be negative")
	}
	return o, nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func allIn(xs []int, lo, hi int) bool {
	for _, x := range xs {
		if x < lo || x > hi {
			return false
		}
	}
	return true
}

func validScenario(s string) bool {
	for _, a := range AllScenarios {
		if s == a {
			return true
		}
	}
	return false
}

func (o Options) wants(s string) bool {
	for _, x := range o.Scenarios {
		if x == s {
			return true
		}
	}
	return false
}

// Run starts the ceiling server, measures the sha256 ceiling, then takes
// every scenario on every target (the ceiling-relative ones in rounds with
// their ceilings), and writes the tables to out. The report holds the
// figures; on error it holds those measured so far.
func Run(ctx context.Context, opts Options, out io.Writer) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Layers: o.Layers, LayerSize: o.LayerSize, Concurrency: o.Concurrency,
		ManifestConcurrency: o.ManifestConcurrency, Rounds: o.Rounds}

	data, err := randomData(int64(o.Layers) * o.LayerSize)
	if err != nil {
		return nil, err
	}
	ceil, err := startCeiling(ctx, o)
	if err != nil {
		return rep, err
	}
	defer ceil.close()
	// sha256 is CPU only: one measurement is steady enough.
	rep.Ceilings.SHA256 = sha256Speed(data, o.HashBytes)

	r := &run{o: o, data: data, id: rand.Uint32(), ceiling: ceil, report: rep}
	for _, t := range o.Targets {
		tr := &TargetReport{Name: t.Name, URL: t.URL}
		rep.Targets = append(rep.Targets, tr)
		c, err := newClient(ctx, o, t)
		if err != nil {
			return rep, err
		}
		defer c.tr.CloseIdleConnections()
		r.targets = append(r.targets, newTargetRun(c, tr))
	}
	for _, st := range steps(o) {
		if err := st(ctx, r); err != nil {
			return rep, err
		}
	}
	// The single-run scenarios are compared to the hello handler: measure
	// it if no manifest-get round did.
	if len(rep.Ceilings.Hello) == 0 && usesHello(o) {
		for range o.Rounds {
			if _, err := r.helloCeiling(ctx); err != nil {
				return rep, err
			}
		}
	}
	if err := rep.WriteTable(out); err != nil {
		return rep, fmt.Errorf("bench: write report: %w", err)
	}
	return rep, nil
}

// client carries what every scenario needs to reach one registry.
type client struct {
	opts   Options
	target Target
	base   string // scheme://host, no trailing slash
	http   *http.Client
	tr     *http.Transport
	authz  string // Authorization header value, or ""
}

func newClient(ctx context.Context, o Options, t Target) (*client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep one idle connection per concurrent loop so the request
	// scenarios measure requests, not TCP handshakes.
	idle := max(o.ManifestConcurrency, o.Concurrency, o.SmallConcurrency, o.TagConcurrency, o.MixedConcurrency) * 2
	tr.MaxIdleConns = idle
	tr.MaxIdleConnsPerHost = idle
	tr.DisableCompression = true
	u, _ := url.Parse(t.URL) // validated by withDefaults
	c := &client{
		opts:   o,
		target: t,
		base:   u.Scheme + "://" + u.Host,
		http:   &http.Client{Transport: tr},
		tr:     tr,
	}
	if t.ECR {
		user, pass, err := ecrLogin(ctx, c.base, o.RequestTimeout)
		if err != nil {
			return nil, err
		}
		c.target.Username, c.target.Password = user, pass
	}
	if c.target.Username != "" {
		r, _ := http.NewRequest(http.MethodGet, c.base, nil)
		r.SetBasicAuth(c.target.Username, c.target.Password)
		c.authz = r.Header.Get("Authorization")
	}
	return c, nil
}

// newRequest builds a request carrying the target's credentials.
func (c *client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.authz != "" {
		req.Header["Authorization"] = []string{c.authz}
	}
	return req, nil
}
