// Package bench is a small load tool for a running registry (`berth bench`).
//
// It measures, in order: this machine's single-core sha256 speed (the
// ceiling for a push, since the registry hashes every byte it receives), a
// push of a random image, a verified pull of that image, and manifest GETs
// at high concurrency. Every figure comes from real HTTP against the
// registry; every pulled byte and every manifest response is verified.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Options configures a run. Zero values take the defaults below.
type Options struct {
	// URL is the registry's base URL (default http://127.0.0.1:5000).
	URL string
	// Username and Password, when Username is set, are sent as basic auth.
	Username string
	Password string
	// Repository and Tag name the image pushed and pulled
	// (default berth-bench and bench).
	Repository string
	Tag        string

	// Layers and LayerSize shape the random image (default 4 x 64 MiB).
	Layers    int
	LayerSize int64
	// Concurrency is the number of layers pushed or pulled at once (default 4).
	Concurrency int
	// ManifestConcurrency is the number of concurrent manifest GET loops (default 64).
	ManifestConcurrency int
	// Duration is how long the manifest GET scenario runs (default 10s).
	Duration time.Duration
	// HashBytes is how much data the sha256 ceiling hashes (default 256 MiB).
	HashBytes int64

	// RequestTimeout bounds each manifest request (default 30s).
	RequestTimeout time.Duration
	// TransferTimeout bounds the whole push and each blob GET (default 10m).
	TransferTimeout time.Duration
	// MaxRequests bounds the manifest GET count whatever the duration
	// (default 50,000,000).
	MaxRequests int64

	// Smoke shrinks sizes and durations (4 x 1 MiB, 1s, 16 MiB hashed) so
	// CI can check correctness quickly. It overrides the fields it shrinks.
	Smoke bool
}

const (
	maxLayers      = 64
	maxLayerSize   = 1 << 30
	maxTotalBytes  = 4 << 30
	maxHashBytes   = 16 << 30
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
)

// withDefaults fills zero fields, applies Smoke, and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:5000"
	}
	if o.Repository == "" {
		o.Repository = "berth-bench"
	}
	if o.Tag == "" {
		o.Tag = "bench"
	}
	if o.Layers == 0 {
		o.Layers = 4
	}
	if o.LayerSize == 0 {
		o.LayerSize = 64 << 20
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.ManifestConcurrency == 0 {
		o.ManifestConcurrency = 64
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.HashBytes == 0 {
		o.HashBytes = 256 << 20
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.TransferTimeout == 0 {
		o.TransferTimeout = 10 * time.Minute
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = 50_000_000
	}
	if o.Smoke {
		o.LayerSize = 1 << 20
		o.Duration = time.Second
		o.HashBytes = 16 << 20
	}

	u, err := url.Parse(o.URL)
	if err != nil {
		return o, fmt.Errorf("bench: registry URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return o, fmt.Errorf("bench: registry URL %q: want http(s)://host[:port]", o.URL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return o, fmt.Errorf("bench: registry URL %q: want no path, query or user info", o.URL)
	}
	switch {
	case o.Layers < 1 || o.Layers > maxLayers:
		return o, fmt.Errorf("bench: layers %d out of range 1..%d", o.Layers, maxLayers)
	case o.LayerSize < 1 || o.LayerSize > maxLayerSize:
		return o, fmt.Errorf("bench: layer size %d out of range 1..%d", o.LayerSize, maxLayerSize)
	case int64(o.Layers)*o.LayerSize > maxTotalBytes:
		return o, fmt.Errorf("bench: image of %d bytes exceeds %d", int64(o.Layers)*o.LayerSize, int64(maxTotalBytes))
	case o.Concurrency < 1 || o.Concurrency > maxConcurrency:
		return o, fmt.Errorf("bench: concurrency %d out of range 1..%d", o.Concurrency, maxConcurrency)
	case o.ManifestConcurrency < 1 || o.ManifestConcurrency > maxConcurrency:
		return o, fmt.Errorf("bench: manifest concurrency %d out of range 1..%d", o.ManifestConcurrency, maxConcurrency)
	case o.Duration < 0 || o.Duration > maxDuration:
		return o, fmt.Errorf("bench: duration %s out of range 0..%s", o.Duration, maxDuration)
	case o.HashBytes < 1 || o.HashBytes > maxHashBytes:
		return o, fmt.Errorf("bench: hash bytes %d out of range 1..%d", o.HashBytes, int64(maxHashBytes))
	case o.RequestTimeout < 0 || o.TransferTimeout < 0 || o.MaxRequests < 0:
		return o, errors.New("bench: timeouts and max requests must not be negative")
	}
	return o, nil
}

// Run benchmarks the registry at opts.URL and writes a table to out. The
// report holds the figures; on error it holds those measured so far.
func Run(ctx context.Context, opts Options, out io.Writer) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Layers: o.Layers, LayerSize: o.LayerSize, Concurrency: o.Concurrency}

	data, err := randomData(int64(o.Layers) * o.LayerSize)
	if err != nil {
		return nil, err
	}
	rep.SHA256 = sha256Speed(data, o.HashBytes)

	img, err := newImage(data, o.Layers, o.LayerSize)
	if err != nil {
		return rep, err
	}
	c := newClient(o)

	if rep.Push, err = push(ctx, c, img); err != nil {
		return rep, err
	}
	if rep.Pull, err = pull(ctx, c, img); err != nil {
		return rep, err
	}
	rep.Manifest, err = manifestLoad(ctx, c, img.manifestDigest, int64(len(img.manifest)))
	if err != nil {
		return rep, err
	}
	if err := rep.WriteTable(out); err != nil {
		return rep, fmt.Errorf("bench: write report: %w", err)
	}
	return rep, nil
}

// client carries what every scenario needs to reach the registry.
type client struct {
	opts Options
	base string // scheme://host, no trailing slash
	http *http.Client
	tr   *http.Transport
}

func newClient(o Options) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep one idle connection per concurrent loop so the manifest
	// scenario measures requests, not TCP handshakes.
	idle := max(o.ManifestConcurrency, o.Concurrency) * 2
	tr.MaxIdleConns = idle
	tr.MaxIdleConnsPerHost = idle
	tr.DisableCompression = true
	u, _ := url.Parse(o.URL) // validated by withDefaults
	return &client{
		opts: o,
		base: u.Scheme + "://" + u.Host,
		http: &http.Client{Transport: tr},
		tr:   tr,
	}
}

// newRequest builds a request carrying basic auth when configured.
func (c *client) newRequest(ctx context.Context, method, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.opts.Username != "" {
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	}
	return req, nil
}
