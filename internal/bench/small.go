package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// smallImage is a one-layer OCI image small enough that pushing it is all
// request overhead: two blob uploads and a manifest PUT.
type smallImage struct {
	tag            string
	layer, config  []byte
	layerDesc      v1.Descriptor
	configDesc     v1.Descriptor
	manifest       []byte
	manifestDigest v1.Hash
}

func descriptorOf(b []byte, mediaType string) v1.Descriptor {
	sum := sha256.Sum256(b)
	return v1.Descriptor{
		MediaType: types.MediaType("application/vnd.oci.image." + mediaType),
		Size:      int64(len(b)),
		Digest:    v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
	}
}

// newSmallImage builds a distinct image: a random layer of layerSize bytes
// and a config naming tag, so no two images share a blob.
func newSmallImage(tag string, layerSize int64) (*smallImage, error) {
	layer := make([]byte, layerSize)
	if _, err := rand.Read(layer); err != nil {
		return nil, fmt.Errorf("bench: small layer: %w", err)
	}
	si := &smallImage{tag: tag, layer: layer}
	si.layerDesc = descriptorOf(layer, "layer.v1.tar")
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": map[string]string{"berth.bench.tag": tag}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{si.layerDesc.Digest.String()}},
	})
	if err != nil {
		return nil, fmt.Errorf("bench: small config: %w", err)
	}
	si.config = cfg
	si.configDesc = descriptorOf(cfg, "config.v1+json")
	m, err := json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		Config:        si.configDesc,
		Layers:        []v1.Descriptor{si.layerDesc},
	})
	if err != nil {
		return nil, fmt.Errorf("bench: small manifest: %w", err)
	}
	si.manifest = m
	si.manifestDigest = descriptorOf(m, "manifest.v1+json").Digest
	return si, nil
}

// pushSmall pushes si to repo: POST + PUT per blob (a monolithic upload,
// as docker and crane do for small blobs), then the manifest by tag. It
// returns the requests made.
func (c *client) pushSmall(ctx context.Context, repo string, si *smallImage) (int64, error) {
	for _, b := range []struct {
		data []byte
		d    v1.Descriptor
	}{{si.layer, si.layerDesc}, {si.config, si.configDesc}} {
		if err := c.uploadBlob(ctx, repo, b.data, b.d.Digest); err != nil {
			return 0, err
		}
	}
	if err := c.putManifest(ctx, repo, si.tag, si.manifest, si.manifestDigest); err != nil {
		return 0, err
	}
	return 5, nil
}

func (c *client) uploadBlob(ctx context.Context, repo string, data []byte, d v1.Hash) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("start upload: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		err := statusError(resp)
		resp.Body.Close()
		return err
	}
	loc := resp.Header.Get("Location")
	drain(resp)
	u, err := c.uploadURL(loc, d)
	if err != nil {
		return err
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	if c.authz != "" {
		req.Header["Authorization"] = []string{c.authz}
	}
	req.Header["Content-Type"] = []string{"application/octet-stream"}
	resp, err = c.http.Do(req)
	if err != nil {
		return fmt.Errorf("finish upload: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return statusError(resp)
	}
	return nil
}

// uploadURL resolves an upload Location against the registry and adds the
// digest that completes it.
func (c *client) uploadURL(loc string, d v1.Hash) (string, error) {
	if loc == "" {
		return "", fmt.Errorf("upload: no Location")
	}
	base, _ := url.Parse(c.base + "/") // validated by withDefaults
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("upload: Location %q: %w", loc, err)
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *client) putManifest(ctx context.Context, repo, tag string, raw []byte, want v1.Hash) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPut, "/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header["Content-Type"] = []string{"application/vnd.oci.image.manifest.v1+json"}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("put manifest %s: %w", tag, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return statusError(resp)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != want.String() {
		return fmt.Errorf("put manifest %s: Docker-Content-Digest %q, want %q", tag, got, want)
	}
	return nil
}

// drain reads a little of what is left of a body so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// fixedLoop runs op(i) for i in [0, n) from conc loops; the first failure
// stops them all. op returns the requests it made.
func fixedLoop(ctx context.Context, conc, n int, op func(ctx context.Context, i int) (int64, error)) (Rate, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, requests atomic.Int64
		wg             sync.WaitGroup
		errOnce        sync.Once
		firstErr       error
	)
	start := time.Now()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				k, err := op(ctx, i)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				requests.Add(k)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return Rate{}, firstErr
	}
	return Rate{Ops: int64(n), Requests: requests.Load(), Elapsed: elapsed, Concurrency: conc}, nil
}

// tagName is the i-th tag tag-put adds.
func tagName(i int) string { return "t-" + fmt.Sprintf("%06d", i) }

// tagPut tags the large image opts.Tags times.
func tagPut(ctx context.Context, c *client, img *image) (Rate, error) {
	r, err := fixedLoop(ctx, c.opts.TagConcurrency, c.opts.Tags, func(ctx context.Context, i int) (int64, error) {
		return 1, c.putManifest(ctx, c.opts.Repository, tagName(i), img.manifest, img.manifestDigest)
	})
	if err != nil {
		return r, fmt.Errorf("bench: tag put: %w", err)
	}
	return r, nil
}

// tagsList walks the repository's tag list in pages of opts.TagPageSize
// from TagConcurrency loops for opts.Duration; each walk must return
// exactly want (sorted). Requests are pages.
func tagsList(ctx context.Context, c *client, want []string) (Rate, error) {
	r, err := loadLoop(ctx, c, c.opts.TagConcurrency, c.opts.Duration, func(ctx context.Context, buf *bytes.Buffer) (int64, error) {
		return c.walkTags(ctx, buf, want)
	})
	if err != nil {
		return r, fmt.Errorf("bench: tags list: %w", err)
	}
	return r, nil
}

// maxTagPageBytes bounds one tags/list response.
const maxTagPageBytes = 8 << 20

func (c *client) walkTags(ctx context.Context, buf *bytes.Buffer, want []string) (int64, error) {
	path := "/v2/" + c.opts.Repository + "/tags/list?n=" + strconv.Itoa(c.opts.TagPageSize)
	var pages int64
	got := 0
	last := ""
	for path != "" {
		if pages > int64(len(want)+1) {
			return pages, fmt.Errorf("more than %d pages for %d tags", pages, len(want))
		}
		next, tags, err := c.tagPage(ctx, buf, path)
		if err != nil {
			return pages, err
		}
		pages++
		if len(tags) > c.opts.TagPageSize {
			return pages, fmt.Errorf("page of %d tags, asked for %d", len(tags), c.opts.TagPageSize)
		}
		for _, t := range tags {
			if got >= len(want) || t != want[got] {
				return pages, fmt.Errorf("tag %d is %q, want %q (last %q)", got, t, wantAt(want, got), last)
			}
			last = t
			got++
		}
		path = next
	}
	if got != len(want) {
		return pages, fmt.Errorf("listed %d tags, want %d", got, len(want))
	}
	return pages, nil
}

func wantAt(want []string, i int) string {
	if i < len(want) {
		return want[i]
	}
	return "(end)"
}

// tagPage fetches one page and returns the next page's path ("" at the end).
func (c *client) tagPage(ctx context.Context, buf *bytes.Buffer, path string) (string, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, statusError(resp)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxTagPageBytes+1)); err != nil {
		return "", nil, fmt.Errorf("read tags page: %w", err)
	}
	if buf.Len() > maxTagPageBytes {
		return "", nil, fmt.Errorf("tags page exceeds %d bytes", maxTagPageBytes)
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		return "", nil, fmt.Errorf("tags page: %w", err)
	}
	next, err := nextLink(resp.Header.Values("Link"))
	if err != nil {
		return "", nil, err
	}
	return next, body.Tags, nil
}

// pushSmallImages pushes images, opts.SmallConcurrency at a time.
func pushSmallImages(ctx context.Context, c *client, repo string, images []*smallImage) (Rate, error) {
	r, err := fixedLoop(ctx, c.opts.SmallConcurrency, len(images), func(ctx context.Context, i int) (int64, error) {
		return c.pushSmall(ctx, repo, images[i])
	})
	if err != nil {
		return r, fmt.Errorf("bench: push small: %w", err)
	}
	return r, nil
}

// pullSmall pulls si by tag and verifies the manifest and both blobs.
func (c *client) pullSmall(ctx context.Context, buf *bytes.Buffer, repo string, si *smallImage) (int64, error) {
	path := "/v2/" + repo + "/manifests/" + si.tag
	if err := c.getManifestInto(ctx, buf, http.MethodGet, path, si.manifestDigest, int64(len(si.manifest))); err != nil {
		return 0, err
	}
	for _, d := range []v1.Descriptor{si.configDesc, si.layerDesc} {
		if _, err := c.getBlob(ctx, repo, d); err != nil {
			return 0, err
		}
	}
	return 3, nil
}

// mixed runs opts.MixedConcurrency loops for opts.Duration: one operation
// in MixedPushEvery pushes a new small image, the others pull one of
// pulled (verified). Ops are images pushed or pulled.
func mixed(ctx context.Context, c *client, repo string, pulled []*smallImage, tagPrefix string) (Rate, error) {
	var n atomic.Int64
	r, err := loadLoop(ctx, c, c.opts.MixedConcurrency, c.opts.Duration, func(ctx context.Context, buf *bytes.Buffer) (int64, error) {
		i := n.Add(1)
		if i%int64(c.opts.MixedPushEvery) == 0 {
			si, err := newSmallImage(tagPrefix+strconv.FormatInt(i, 10), c.opts.SmallLayerSize)
			if err != nil {
				return 0, err
			}
			return c.pushSmall(ctx, repo, si)
		}
		// A multiplicative walk spreads pulls over every image.
		return c.pullSmall(ctx, buf, repo, pulled[int(i*7919%int64(len(pulled)))])
	})
	if err != nil {
		return r, fmt.Errorf("bench: mixed: %w", err)
	}
	return r, nil
}

// sortedTags returns the tags a walk of the large repository must list.
func sortedTags(first string, n int) []string {
	tags := make([]string, 0, n+1)
	tags = append(tags, first)
	for i := range n {
		tags = append(tags, tagName(i))
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}
