package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxManifestBytes bounds manifest bodies read (the registry's own limit).
const maxManifestBytes = 4 << 20

const manifestAccept = "application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, " +
	"application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json"

// push uploads the image the way registry clients do (HEAD, POST, PATCH,
// PUT per blob, then the manifest), opts.Concurrency layers at a time.
func push(ctx context.Context, c *client, img *image) (Throughput, error) {
	u, _ := url.Parse(c.base) // validated by withDefaults
	var nameOpts []name.Option
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.NewTag(u.Host+"/"+c.opts.Repository+":"+c.opts.Tag, nameOpts...)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: push: reference: %w", err)
	}
	auth := authn.Anonymous
	if c.target.Username != "" {
		auth = &authn.Basic{Username: c.target.Username, Password: c.target.Password}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.TransferTimeout)
	defer cancel()
	start := time.Now()
	err = remote.Write(ref, img.img,
		remote.WithContext(ctx),
		remote.WithJobs(c.opts.Concurrency),
		remote.WithAuth(auth),
		remote.WithTransport(c.tr),
		// A benchmark must see failures, not hide them behind retries.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: push %s: %w", ref, err)
	}
	return Throughput{Bytes: img.layerBytes, Elapsed: time.Since(start)}, nil
}

// pull fetches the manifest by tag and every layer, opts.Concurrency at a
// time, verifying each against its digest and size.
func pull(ctx context.Context, c *client, img *image) (Throughput, error) {
	start := time.Now()
	mctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	raw, err := c.getManifest(mctx, c.opts.Tag, img.manifestDigest)
	cancel()
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: pull: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: pull: parse manifest: %w", err)
	}
	if len(m.Layers) != len(img.layers) {
		return Throughput{}, fmt.Errorf("bench: pull: manifest has %d layers, pushed %d", len(m.Layers), len(img.layers))
	}

	t, err := pullLayers(ctx, c, m.Layers)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: pull: %w", err)
	}
	return Throughput{Bytes: t.Bytes, Elapsed: time.Since(start)}, nil
}

// pullLayers fetches layers from opts.Repository, opts.Concurrency at a
// time, verifying each.
func pullLayers(ctx context.Context, c *client, layers []v1.Descriptor) (Throughput, error) {
	start := time.Now()
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.opts.Concurrency)
		errOnce  sync.Once
		firstErr error
		total    atomic.Int64
	)
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	for _, l := range layers {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := c.getBlob(ctx, c.opts.Repository, l)
			total.Add(n)
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancelAll() })
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return Throughput{}, firstErr
	}
	return Throughput{Bytes: total.Load(), Elapsed: time.Since(start)}, nil
}

// getBlob streams one blob through sha256 and checks digest and size.
func (c *client) getBlob(ctx context.Context, repo string, d v1.Descriptor) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.TransferTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, "/v2/"+repo+"/blobs/"+d.Digest.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("blob %s: %w", d.Digest, statusError(resp))
	}
	if d.Digest.Algorithm != "sha256" {
		return 0, fmt.Errorf("blob %s: unsupported digest algorithm", d.Digest)
	}
	h := sha256.New()
	// One byte more than expected detects an over-long body.
	n, err := io.Copy(h, io.LimitReader(resp.Body, d.Size+1))
	if err != nil {
		return n, fmt.Errorf("blob %s: read: %w", d.Digest, err)
	}
	if n != d.Size {
		return n, fmt.Errorf("blob %s: got %d bytes, want %d", d.Digest, n, d.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Digest.Hex {
		return n, fmt.Errorf("blob %s: content hashes to sha256:%s", d.Digest, got)
	}
	return n, nil
}

// getManifest fetches a manifest and checks its Docker-Content-Digest and
// its content against want.
func (c *client) getManifest(ctx context.Context, reference string, want v1.Hash) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v2/"+c.opts.Repository+"/manifests/"+reference, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", reference, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("manifest %s: %w", reference, statusError(resp))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: read: %w", reference, err)
	}
	if err := checkManifest(resp.Header.Get("Docker-Content-Digest"), raw, want); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", reference, err)
	}
	return raw, nil
}

func checkManifest(header string, raw []byte, want v1.Hash) error {
	if header != want.String() {
		return fmt.Errorf("Docker-Content-Digest %q, want %q", header, want)
	}
	if len(raw) > maxManifestBytes {
		return fmt.Errorf("body exceeds %d bytes", maxManifestBytes)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != want.Hex {
		return fmt.Errorf("body hashes to sha256:%s, want %s", got, want)
	}
	return nil
}

// manifestLoad sends method (GET or HEAD) for the manifest by tag from
// opts.ManifestConcurrency loops over one shared keep-alive client for d,
// verifying every response. The first failure stops every loop and fails
// the scenario.
func manifestLoad(ctx context.Context, c *client, method string, d time.Duration, want v1.Hash, size int64) (Rate, error) {
	path := "/v2/" + c.opts.Repository + "/manifests/" + c.opts.Tag
	return loadLoop(ctx, c, c.opts.ManifestConcurrency, d, func(ctx context.Context, buf *bytes.Buffer) (int64, error) {
		return 1, c.getManifestInto(ctx, buf, method, path, want, size)
	})
}

// loadLoop runs op from conc loops for d (each loop at least once) and at
// most opts.MaxRequests operations in all. op returns how many requests it
// made. The first failure stops every loop.
func loadLoop(ctx context.Context, c *client, conc int, d time.Duration, op func(context.Context, *bytes.Buffer) (int64, error)) (Rate, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		requests atomic.Int64
		ops      atomic.Int64
		started  atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := bytes.NewBuffer(make([]byte, 0, 64<<10))
			for first := true; ctx.Err() == nil && (first || time.Now().Before(deadline)); first = false {
				if started.Add(1) > c.opts.MaxRequests {
					return
				}
				n, err := op(ctx, buf)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				requests.Add(n)
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err() // the caller's context, as only errors cancel ours
	}
	if firstErr != nil {
		return Rate{}, firstErr
	}
	return Rate{Ops: ops.Load(), Requests: requests.Load(), Elapsed: elapsed, Concurrency: conc}, nil
}

// getManifestInto is the hot loop's request: it reuses buf across calls so
// the client allocates little per request. For HEAD it checks the digest
// header and Content-Length only.
func (c *client) getManifestInto(ctx context.Context, buf *bytes.Buffer, method, path string, want v1.Hash, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, path, nil)
	if err != nil {
		return err
	}
	req.Header["Accept"] = []string{manifestAccept}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	if method == http.MethodHead {
		if got := resp.Header.Get("Docker-Content-Digest"); got != want.String() {
			return fmt.Errorf("HEAD %s: Docker-Content-Digest %q, want %q", path, got, want)
		}
		if resp.ContentLength != size {
			return fmt.Errorf("HEAD %s: Content-Length %d, want %d", path, resp.ContentLength, size)
		}
		return nil
	}
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxManifestBytes+1)); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return checkManifest(resp.Header.Get("Docker-Content-Digest"), buf.Bytes(), want)
}

// statusError describes an unexpected response, with the start of its body.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("%s %s: status %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status, bytes.TrimSpace(body))
}
