package bench

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      Options
		wantErr string
		check   func(t *testing.T, o Options)
	}{
		{name: "defaults", check: func(t *testing.T, o Options) {
			if o.URL != "http://127.0.0.1:5000" || o.Layers != 4 || o.LayerSize != 64<<20 ||
				o.Concurrency != 4 || o.ManifestConcurrency != 64 || o.Duration != 10*time.Second ||
				o.HashBytes != 256<<20 || o.Repository == "" || o.Tag == "" || o.SmallImages != 500 ||
				o.SmallConcurrency != 16 || o.Tags != 5000 || o.TagPageSize != 100 || o.MixedConcurrency != 32 ||
				o.MixedPushEvery != 10 || len(o.Scenarios) != len(AllScenarios) || o.CeilingDir == "" {
				t.Fatalf("defaults: %+v", o)
			}
			if len(o.Targets) != 1 || o.Targets[0].URL != o.URL || o.Targets[0].Name != "127.0.0.1:5000" {
				t.Fatalf("single target: %+v", o.Targets)
			}
		}},
		{name: "smoke shrinks", in: Options{Smoke: true, LayerSize: 1 << 30, Duration: time.Minute, Tags: 5000},
			check: func(t *testing.T, o Options) {
				if o.LayerSize != 1<<20 || o.Duration >= time.Second || o.HashBytes != 16<<20 || o.Layers != 4 ||
					o.SmallImages > 20 || o.Tags > 30 || o.TagPageSize >= o.Tags {
					t.Fatalf("smoke: %+v", o)
				}
			}},
		{name: "targets", in: Options{Targets: []Target{{URL: "http://a:1", Name: "berth"}, {URL: "http://b:2"}}},
			check: func(t *testing.T, o Options) {
				if len(o.Targets) != 2 || o.Targets[0].Name != "berth" || o.Targets[1].Name != "b:2" {
					t.Fatalf("targets: %+v", o.Targets)
				}
			}},
		{name: "https with port", in: Options{URL: "https://registry.example:8443"}},
		{name: "some scenarios", in: Options{Scenarios: []string{"mixed", "push-large"}}},
		{name: "unknown scenario", in: Options{Scenarios: []string{"push-huge"}}, wantErr: "unknown scenario"},
		{name: "bad scheme", in: Options{URL: "ftp://x"}, wantErr: "want http(s)"},
		{name: "bad target", in: Options{Targets: []Target{{URL: "http://ok"}, {URL: "x"}}}, wantErr: "want http(s)"},
		{name: "no host", in: Options{URL: "http://"}, wantErr: "want http(s)"},
		{name: "path", in: Options{URL: "http://h/v2"}, wantErr: "no path"},
		{name: "user info", in: Options{URL: "http://u:p@h"}, wantErr: "no path"},
		{name: "negative pid", in: Options{ServerPID: -1}, wantErr: "pid"},
		{name: "too many layers", in: Options{Layers: maxLayers + 1}, wantErr: "layers"},
		{name: "negative layers", in: Options{Layers: -1}, wantErr: "layers"},
		{name: "layer too big", in: Options{LayerSize: maxLayerSize + 1}, wantErr: "layer size"},
		{name: "image too big", in: Options{Layers: 8, LayerSize: maxLayerSize}, wantErr: "exceeds"},
		{name: "concurrency", in: Options{Concurrency: -2}, wantErr: "concurrency"},
		{name: "manifest concurrency", in: Options{ManifestConcurrency: maxConcurrency + 1}, wantErr: "concurrency"},
		{name: "small images", in: Options{SmallImages: -1}, wantErr: "small images"},
		{name: "small layer", in: Options{SmallLayerSize: maxSmallLayer + 1}, wantErr: "small layer"},
		{name: "tags", in: Options{Tags: maxTags + 1}, wantErr: "tags"},
		{name: "page", in: Options{TagPageSize: -1}, wantErr: "page size"},
		{name: "push every", in: Options{MixedPushEvery: -1}, wantErr: "mixed"},
		{name: "duration", in: Options{Duration: time.Hour}, wantErr: "duration"},
		{name: "rounds default", check: func(t *testing.T, o Options) {
			if o.Rounds != 7 {
				t.Fatalf("rounds %d, want 7", o.Rounds)
			}
		}},
		{name: "smoke one round", in: Options{Smoke: true}, check: func(t *testing.T, o Options) {
			if o.Rounds != 1 {
				t.Fatalf("rounds %d, want 1", o.Rounds)
			}
		}},
		{name: "smoke keeps explicit rounds", in: Options{Smoke: true, Rounds: 3}, check: func(t *testing.T, o Options) {
			if o.Rounds != 3 {
				t.Fatalf("rounds %d, want 3", o.Rounds)
			}
		}},
		{name: "max rounds", in: Options{Rounds: maxRounds}},
		{name: "too many rounds", in: Options{Rounds: maxRounds + 1}, wantErr: "rounds"},
		{name: "negative rounds", in: Options{Rounds: -1}, wantErr: "rounds"},
		{name: "negative timeout", in: Options{RequestTimeout: -time.Second}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestRandomData(t *testing.T) {
	const n = 1 << 20
	a, err := randomData(n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := randomData(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != n || len(b) != n {
		t.Fatalf("lengths %d, %d; want %d", len(a), len(b), n)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two runs produced the same data")
	}
	// Incompressible: flate must not shrink it by even 1%.
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	w.Write(a)
	w.Close()
	if z.Len() < n*99/100 {
		t.Fatalf("data compressed to %d of %d bytes", z.Len(), n)
	}
}

func TestWriteCycling(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		n    int64
		want string
	}{
		{0, ""},
		{3, "012"},
		{10, "0123456789"},
		{25, "0123456789012345678901234"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			var buf bytes.Buffer
			if got := writeCycling(&buf, data, tt.n); got != tt.n {
				t.Fatalf("wrote %d, want %d", got, tt.n)
			}
			if buf.String() != tt.want {
				t.Fatalf("wrote %q, want %q", buf.String(), tt.want)
			}
		})
	}
	if got := writeCycling(&bytes.Buffer{}, nil, 5); got != 0 {
		t.Fatalf("empty data: wrote %d", got)
	}
	// Writes stay at most 1 MiB whatever the data size.
	big := make([]byte, 3<<20+5)
	cw := &chunkWriter{}
	writeCycling(cw, big, int64(len(big)))
	if cw.max != 1<<20 || cw.total != int64(len(big)) {
		t.Fatalf("largest write %d, total %d", cw.max, cw.total)
	}
	if s := sha256Speed(big, 4<<20); s.Bytes != 4<<20 || s.Elapsed <= 0 {
		t.Fatalf("sha256Speed = %+v", s)
	}
}

type chunkWriter struct {
	max, total int64
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.max = max(c.max, int64(len(p)))
	c.total += int64(len(p))
	return len(p), nil
}

func TestNewImage(t *testing.T) {
	data, err := randomData(3 * 1000)
	if err != nil {
		t.Fatal(err)
	}
	img, err := newImage(data, 3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.layers) != 3 || img.layerBytes != 3000 {
		t.Fatalf("layers %d, bytes %d", len(img.layers), img.layerBytes)
	}
	for i, l := range img.layers {
		sum := sha256.Sum256(data[i*1000 : (i+1)*1000])
		if l.Digest.Hex != hex.EncodeToString(sum[:]) || l.Size != 1000 {
			t.Fatalf("layer %d: %v size %d", i, l.Digest, l.Size)
		}
	}
	sum := sha256.Sum256(img.manifest)
	if img.manifestDigest.Hex != hex.EncodeToString(sum[:]) {
		t.Fatal("manifest digest does not match its bytes")
	}
	if !bytes.Contains(img.manifest, []byte("application/vnd.oci.image.manifest.v1+json")) {
		t.Fatalf("not an OCI manifest: %s", img.manifest)
	}
	if _, err := newImage(data, 4, 1000); err == nil {
		t.Fatal("newImage accepted too little data")
	}
}

func TestWriteTable(t *testing.T) {
	r := &Report{
		Layers: 4, LayerSize: 64 << 20, Concurrency: 4,
		ManifestConcurrency: 64, Rounds: 3,
		Ceilings: Ceilings{
			SHA256: Throughput{Bytes: 2000e6, Elapsed: time.Second},
			// Medians: 600 MB/s, 1200 MB/s, 30000 req/s.
			Put: []Throughput{{Bytes: 500e6, Elapsed: time.Second}, {Bytes: 600e6, Elapsed: time.Second}, {Bytes: 900e6, Elapsed: time.Second}},
			Get: []Throughput{{Bytes: 1200e6, Elapsed: time.Second}},
			Hello: []Rate{{Requests: 20000, Elapsed: time.Second, Concurrency: 64},
				{Requests: 40000, Elapsed: time.Second, Concurrency: 64}},
		},
		Targets: []*TargetReport{
			{Name: "berth", Results: []Result{
				// Per-round ratios 0.9, 0.95, 1.0: their median, not 570/600.
				{Key: "push-large", Label: "push", Value: 570, Unit: "MB/s", Measure: 570, Ceiling: "fsync PUT", PeakRSSKiB: 50 << 10,
					Rounds: []float64{450, 570, 900}, Ratios: []float64{0.9, 0.95, 1.0}},
				{Key: "mixed", Label: "mixed", Value: 400, Unit: "ops/s", Measure: 3000, Ceiling: "hello", PeakRSSKiB: 60 << 10},
			}},
			{Name: "dist", Results: []Result{
				{Key: "push-large", Label: "push", Value: 380, Unit: "MB/s", Measure: 380, Ceiling: "fsync PUT",
					Rounds: []float64{300, 380, 400}, Ratios: []float64{0.6, 0.63, 0.8}},
			}},
		},
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(buf.String()), " ")
	for _, want := range []string{
		"sha256 (1 core) 2000 MB/s", "600 MB/s", "1200 MB/s", "hello handler, c=64 30000 req/s",
		"medians of 3 rounds; ratio = median over rounds of figure / mean of the ceilings measured just before and after it",
		"scenario unit ceiling berth /ceiling dist /ceiling berth/dist",
		"push MB/s fsync PUT 570 0.95 380 0.63 1.50", // 570/380: a ratio of the medians
		"mixed ops/s hello 400 0.10 - - -",           // single run: 3000 over the median hello
		"peak RSS (VmHWM) MiB - 60 - - - -",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

func TestRatesWithoutTime(t *testing.T) {
	if (Throughput{Bytes: 1}).MBps() != 0 || (Rate{Requests: 1}).PerSecond() != 0 || (Rate{Ops: 1}).OpsPerSecond() != 0 {
		t.Fatal("zero elapsed must give zero rates")
	}
	if ratio(1, 0) != 0 || fmtRatio(0) != "-" || fmtRatio(0.954) != "0.95" {
		t.Fatal("ratio without ceiling")
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{1: "1 B", 1023: "1023 B", 1024: "1 KiB", 1 << 20: "1 MiB", 3 << 30: "3 GiB", 1<<20 + 1: "1048577 B"}
	for n, want := range tests {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// fakeRegistry serves a fixed manifest and blobs for the GET scenarios.
type fakeRegistry struct {
	manifest []byte
	digest   string // Docker-Content-Digest to send
	blobs    map[string][]byte
	user     string
	// manifestGets counts manifest requests served (blob requests from a
	// cancelled pull may still arrive later).
	manifestGets atomic.Int64
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u, p, _ := r.BasicAuth(); f.user != "" && (u != f.user || p != "secret") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/v2/repo/manifests/tag":
		f.manifestGets.Add(1)
		w.Header().Set("Docker-Content-Digest", f.digest)
		w.Write(f.manifest)
	case strings.HasPrefix(r.URL.Path, "/v2/repo/blobs/"):
		b, ok := f.blobs[strings.TrimPrefix(r.URL.Path, "/v2/repo/blobs/")]
		if !ok {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

func testImage(t *testing.T) *image {
	t.Helper()
	data, err := randomData(2 * 4096)
	if err != nil {
		t.Fatal(err)
	}
	img, err := newImage(data, 2, 4096)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newTestClient(t *testing.T, h http.Handler, user string) *client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o, err := Options{
		URL: srv.URL, Repository: "repo", Tag: "tag", Username: user, Password: "secret",
		Concurrency: 2, ManifestConcurrency: 4, Duration: 50 * time.Millisecond, MaxRequests: 200,
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClient(context.Background(), o, o.Targets[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPullAndManifestLoad(t *testing.T) {
	img := testImage(t)
	blobs := func(mutate func(map[string][]byte)) map[string][]byte {
		m := map[string][]byte{}
		raw, _ := img.img.Layers()
		for _, l := range raw {
			d, _ := l.Digest()
			rc, _ := l.Compressed()
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			m[d.String()] = b.Bytes()
		}
		if mutate != nil {
			mutate(m)
		}
		return m
	}
	first := img.layers[0].Digest.String()
	tests := []struct {
		name         string
		reg          *fakeRegistry
		user         string
		pullErr      string
		manifestErr  string
		wantRequests bool
	}{
		{name: "good", reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(), blobs: blobs(nil)}},
		{name: "good with auth", user: "AWS",
			reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(), blobs: blobs(nil), user: "AWS"}},
		{name: "wrong password", user: "AWS",
			reg:     &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(), blobs: blobs(nil), user: "other"},
			pullErr: "401", manifestErr: "401"},
		{name: "wrong digest header",
			reg:     &fakeRegistry{manifest: img.manifest, digest: "sha256:" + strings.Repeat("0", 64), blobs: blobs(nil)},
			pullErr: "Docker-Content-Digest", manifestErr: "Docker-Content-Digest"},
		{name: "corrupt manifest body",
			reg:     &fakeRegistry{manifest: append([]byte(" "), img.manifest...), digest: img.manifestDigest.String(), blobs: blobs(nil)},
			pullErr: "body hashes", manifestErr: "body hashes"},
		{name: "corrupt blob",
			reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(),
				blobs: blobs(func(m map[string][]byte) { m[first] = bytes.Repeat([]byte{1}, 4096) })},
			pullErr: "content hashes"},
		{name: "short blob",
			reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(),
				blobs: blobs(func(m map[string][]byte) { m[first] = m[first][:100] })},
			pullErr: "got 100 bytes"},
		{name: "long blob",
			reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(),
				blobs: blobs(func(m map[string][]byte) { m[first] = append(m[first], 0) })},
			pullErr: "got 4097 bytes"},
		{name: "missing blob",
			reg: &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String(),
				blobs: blobs(func(m map[string][]byte) { delete(m, first) })},
			pullErr: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.reg, tt.user)
			ctx := context.Background()

			got, err := pull(ctx, c, img)
			if !errContains(err, tt.pullErr) {
				t.Fatalf("pull err = %v, want %q", err, tt.pullErr)
			}
			if err == nil && got.Bytes != img.layerBytes {
				t.Fatalf("pulled %d bytes, want %d", got.Bytes, img.layerBytes)
			}

			before := tt.reg.manifestGets.Load()
			rate, err := manifestLoad(ctx, c, http.MethodGet, c.opts.Duration, img.manifestDigest, int64(len(img.manifest)))
			if !errContains(err, tt.manifestErr) {
				t.Fatalf("manifestLoad err = %v, want %q", err, tt.manifestErr)
			}
			if err == nil {
				served := tt.reg.manifestGets.Load() - before
				if rate.Requests < 1 || rate.Requests != served || rate.Requests > c.opts.MaxRequests {
					t.Fatalf("counted %d requests, server saw %d, bound %d", rate.Requests, served, c.opts.MaxRequests)
				}
			}
		})
	}
}

func errContains(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}

func TestManifestLoadStopsOnCancel(t *testing.T) {
	img := testImage(t)
	reg := &fakeRegistry{manifest: img.manifest, digest: img.manifestDigest.String()}
	c := newTestClient(t, reg, "")
	c.opts.Duration = time.Minute
	c.opts.MaxRequests = 1 << 40
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := manifestLoad(ctx, c, http.MethodGet, c.opts.Duration, img.manifestDigest, 0); err == nil {
		t.Fatal("manifestLoad with a cancelled context succeeded")
	}
}

func TestCheckManifest(t *testing.T) {
	raw := []byte(`{"schemaVersion":2}`)
	sum := sha256.Sum256(raw)
	want := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	big := bytes.Repeat([]byte("x"), maxManifestBytes+1)
	bigSum := sha256.Sum256(big)
	bigHash := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(bigSum[:])}
	tests := []struct {
		name   string
		header string
		raw    []byte
		want   v1.Hash
		ok     bool
	}{
		{"match", want.String(), raw, want, true},
		{"no header", "", raw, want, false},
		{"other header", "sha256:" + strings.Repeat("a", 64), raw, want, false},
		{"body differs", want.String(), []byte(`{"schemaVersion":3}`), want, false},
		{"too big", bigHash.String(), big, bigHash, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkManifest(tt.header, tt.raw, tt.want); (err == nil) != tt.ok {
				t.Fatalf("checkManifest = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRunUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	var out bytes.Buffer
	rep, err := Run(context.Background(), Options{URL: url, Smoke: true, CeilingDir: t.TempDir()}, &out)
	if err == nil || !strings.Contains(err.Error(), "push") {
		t.Fatalf("Run against a closed port: err = %v, want a push error", err)
	}
	if rep == nil {
		t.Fatal("no report")
	}
	// Round 0 starts with the ceiling, so its PUT ran before the push failed.
	c := rep.Ceilings
	if c.SHA256.Bytes != 16<<20 || len(c.Put) != 1 || c.Put[0].Bytes != 4<<20 || len(c.Get) != 0 || len(c.Hello) != 0 {
		t.Fatalf("report should keep the ceilings measured before the failure: %+v", rep)
	}
	if out.Len() != 0 {
		t.Fatalf("table written despite failure: %q", out.String())
	}
	if _, err := Run(context.Background(), Options{URL: "ftp://x"}, &out); err == nil {
		t.Fatal("Run accepted a bad URL")
	}
}
