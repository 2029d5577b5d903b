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
	u, _ := url.Parse(c.opts.URL) // validated by withDefaults
	var nameOpts []name.Option
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.NewTag(u.Host+"/"+c.opts.Repository+":"+c.opts.Tag, nameOpts...)
	if err != nil {
		return Throughput{}, fmt.Errorf("bench: push: reference: %w", err)
	}
	auth := authn.Anonymous
	if c.opts.Username != "" {
		auth = &authn.Basic{Username: c.opts.Username, Password: c.opts.Password}
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

	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.opts.Concurrency)
		errOnce  sync.Once
		firstErr error
		total    atomic.Int64
	)
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	for _, l := range m.Layers {
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
			n, err := c.getBlob(ctx, l)
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
		return Throughput{}, fmt.Errorf("bench: pull: %w", firstErr)
	}
	return Throughput{Bytes: total.Load(), Elapsed: time.Since(start)}, nil
}

// getBlob streams one blob through sha256 and checks digest and size.
func (c *client) getBlob(ctx context.Context, d v1.Descriptor) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.TransferTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, "/v2/"+c.opts.Repository+"/blobs/"+d.Digest.String())
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
	req, err := c.newRequest(ctx, http.MethodGet, "/v2/"+c.opts.Repository+"/manifests/"+reference)
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

// manifestLoad GETs the manifest by tag from opts.ManifestConcurrency loops
// over one shared keep-alive client for opts.Duration, verifying every
// response. The first failure stops every loop and fails the scenario.
func manifestLoad(ctx context.Context, c *client, want v1.Hash, size int64) (Rate, error) {
	conc := c.opts.ManifestConcurrency
	perWorker := max(c.opts.MaxRequests/int64(conc), 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		ok       atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(c.opts.Duration)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := bytes.NewBuffer(make([]byte, 0, size+1))
			for i := int64(0); i < perWorker && ctx.Err() == nil && time.Now().Before(deadline); i++ {
				if err := c.getManifestInto(ctx, buf, want); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err() // the caller's context, as only errors cancel ours
	}
	if firstErr != nil {
		return Rate{}, fmt.Errorf("bench: manifest GET: %w", firstErr)
	}
	return Rate{Requests: ok.Load(), Elapsed: elapsed, Concurrency: conc}, nil
}

// getManifestInto is the hot loop's request: it reuses buf across calls so
// the client allocates little per request.
func (c *client) getManifestInto(ctx context.Context, buf *bytes.Buffer, want v1.Hash) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, "/v2/"+c.opts.Repository+"/manifests/"+c.opts.Tag)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
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
