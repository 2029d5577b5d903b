package scaleout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-registry/berth/test/internal/harness"
)

// ecrClient is the real AWS SDK's ECR client pointed at a node, signing with
// the cluster's root key.
func (c *cluster) ecrClient(n *node) *ecr.Client {
	return n.ECRClient(func(o *ecr.Options) { o.HTTPClient = &http.Client{Timeout: 30 * time.Second} })
}

// loginToken gets a login token from node n with GetAuthorizationToken and
// returns its password part (the user is always AWS).
func (c *cluster) loginToken(t testing.TB, n *node) string {
	t.Helper()
	pass, err := harness.Login(context.Background(), c.ecrClient(n))
	if err != nil {
		t.Fatalf("logging in on %s: %v", n.Addr(), err)
	}
	return pass
}

// reg is a minimal /v2 client with Basic auth AWS:<token>.
type reg struct {
	t     testing.TB
	token string
	hc    *http.Client
}

func newReg(t testing.TB, token string) *reg {
	return &reg{t: t, token: token, hc: &http.Client{
		Timeout: 2 * time.Minute,
		// Redirects (presigned blob URLs) are followed; the auth header is
		// dropped on the way to another host by net/http itself.
	}}
}

// do sends one request to base+path and returns the response with its body read.
func (r *reg) do(method, target string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth("AWS", r.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp, b, err
}

// must is do that fails the test on a transport error or an unexpected status.
func (r *reg) must(want int, method, target string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	r.t.Helper()
	resp, b, err := r.do(method, target, body, hdr)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, target, err)
	}
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: status %d, want %d: %s", method, target, resp.StatusCode, want, harness.Truncate(b, 2048))
	}
	return resp, b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// onNode rewrites an upload Location (absolute or relative) to point at node n.
func onNode(t testing.TB, loc string, n *node) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("bad Location %q: %v", loc, err)
	}
	u.Scheme, u.Host = "http", n.Addr()
	return u.String()
}

// withDigest adds ?digest= to an upload URL.
func withDigest(loc, dgst string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + url.QueryEscape(dgst)
}

// startUpload opens an upload session on n and returns its Location.
func (r *reg) startUpload(n *node, repo string) string {
	r.t.Helper()
	resp, _ := r.must(http.StatusAccepted, http.MethodPost, n.URL()+"/v2/"+repo+"/blobs/uploads/", nil, nil)
	return resp.Header.Get("Location")
}

// patch sends one chunk starting at offset; it returns the new Location.
func (r *reg) patch(n *node, loc string, offset int, chunk []byte) string {
	r.t.Helper()
	resp, _ := r.must(http.StatusAccepted, http.MethodPatch, onNode(r.t, loc, n), chunk, map[string]string{
		"Content-Type":  "application/octet-stream",
		"Content-Range": fmt.Sprintf("%d-%d", offset, offset+len(chunk)-1),
	})
	if got := resp.Header.Get("Range"); got != fmt.Sprintf("0-%d", offset+len(chunk)-1) {
		r.t.Fatalf("PATCH on %s: Range %q after %d bytes", n.Addr(), got, offset+len(chunk))
	}
	return resp.Header.Get("Location")
}

// pushBlob uploads data monolithically (POST + PUT) through n.
func (r *reg) pushBlob(n *node, repo string, data []byte) string {
	r.t.Helper()
	loc := r.startUpload(n, repo)
	d := sha(data)
	r.must(http.StatusCreated, http.MethodPut, withDigest(onNode(r.t, loc, n), d), data,
		map[string]string{"Content-Type": "application/octet-stream"})
	return d
}

// manifest is an OCI image manifest for a config and layers of given digests and sizes.
func manifest(cfgDigest string, cfgSize int, layers map[string]int) []byte {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, "application/vnd.oci.image.manifest.v1+json",
		desc{"application/vnd.oci.image.config.v1+json", cfgDigest, cfgSize}, []desc{}}
	for d, s := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar", d, s})
	}
	b, _ := json.Marshal(m)
	return b
}

// image is a pushed image: its manifest and blobs.
type image struct {
	manifest []byte
	digest   string
	blobs    map[string][]byte
}

// newImage makes a small random image: a config and one layer of size bytes.
func newImage(size int) image {
	cfg := []byte(`{"architecture":"amd64","os":"linux","berth":"` + randomHex(8) + `"}`)
	layer := []byte(randomHex(size / 2))
	img := image{blobs: map[string][]byte{sha(cfg): cfg, sha(layer): layer}}
	img.manifest = manifest(sha(cfg), len(cfg), map[string]int{sha(layer): len(layer)})
	img.digest = sha(img.manifest)
	return img
}

// pushImage pushes img's blobs and manifest (as tag) through n.
func (r *reg) pushImage(n *node, repo, tag string, img image) {
	r.t.Helper()
	for _, b := range img.blobs {
		r.pushBlob(n, repo, b)
	}
	r.must(http.StatusCreated, http.MethodPut, n.URL()+"/v2/"+repo+"/manifests/"+tag, img.manifest,
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
}

// verifyImage pulls img by tag through n and checks every byte.
func (r *reg) verifyImage(n *node, repo, tag string, img image) {
	r.t.Helper()
	resp, b := r.must(http.StatusOK, http.MethodGet, n.URL()+"/v2/"+repo+"/manifests/"+tag, nil,
		map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
	if !bytes.Equal(b, img.manifest) || resp.Header.Get("Docker-Content-Digest") != img.digest {
		r.t.Fatalf("manifest %s:%s from %s differs from the one pushed", repo, tag, n.Addr())
	}
	for d, want := range img.blobs {
		_, got := r.must(http.StatusOK, http.MethodGet, n.URL()+"/v2/"+repo+"/blobs/"+d, nil, nil)
		if !bytes.Equal(got, want) {
			r.t.Fatalf("blob %s from %s: %d bytes differ from the %d pushed", d, n.Addr(), len(got), len(want))
		}
	}
}

// retryable reports whether a response tells the client to try again: a 5xx,
// and for 503 (and 429) a Retry-After header.
func retryable(resp *http.Response) (bool, string) {
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if _, err := strconv.Atoi(ra); err == nil {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d without a numeric Retry-After", resp.StatusCode)
	case resp.StatusCode >= 500:
		return true, ""
	}
	return false, fmt.Sprintf("status %d", resp.StatusCode)
}
