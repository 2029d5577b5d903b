package scaleout

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// TestBlobRedirect: with --blob-redirect, blob GETs and layer download URLs
// answer 307 to a presigned S3 URL that serves the exact bytes; refusals
// stay refusals.
func TestBlobRedirect(t *testing.T) {
	c := newCluster(t, 2, "--blob-redirect")
	a, b := c.nodes[0], c.nodes[1]
	r := newReg(t, c.loginToken(t, a))
	img := newImage(512 << 10)
	r.pushImage(a, "so/redirect", "v1", img)
	var layer string
	for d, data := range img.blobs {
		if len(data) > 1000 {
			layer = d
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(t *testing.T, client *http.Client, url string, auth bool) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.SetBasicAuth("AWS", r.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	checkRedirect := func(t *testing.T, resp *http.Response) {
		t.Helper()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, env.s3.endpoint()) ||
			!strings.Contains(loc, "X-Amz-Signature=") {
			t.Fatalf("status %d Location %q, want 307 to a presigned %s URL", resp.StatusCode, loc, env.s3.endpoint())
		}
		got := get(t, http.DefaultClient, loc, false)
		data, err := io.ReadAll(got.Body)
		if err != nil || got.StatusCode != http.StatusOK || sha(data) != layer {
			t.Fatalf("presigned GET: %d, %d bytes, digest %s, err %v", got.StatusCode, len(data), sha(data), err)
		}
	}

	t.Run("BlobGET", func(t *testing.T) {
		checkRedirect(t, get(t, noFollow, b.URL()+"/v2/so/redirect/blobs/"+layer, true))
		// A client that follows redirects gets the bytes.
		r.verifyImage(b, "so/redirect", "v1", img)
	})
	t.Run("RefusalsAreNotRedirected", func(t *testing.T) {
		if resp := get(t, noFollow, b.URL()+"/v2/so/redirect/blobs/"+layer, false); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous blob GET: %d, want 401", resp.StatusCode)
		}
		if resp := get(t, noFollow, b.URL()+"/v2/so/other/blobs/"+layer, true); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("blob GET in another repository: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("GetDownloadUrlForLayer", func(t *testing.T) {
		out, err := c.ecrClient(a).GetDownloadUrlForLayer(context.Background(), &ecr.GetDownloadUrlForLayerInput{
			RepositoryName: aws.String("so/redirect"), LayerDigest: aws.String(layer),
		})
		if err != nil {
			t.Fatalf("GetDownloadUrlForLayer: %v", err)
		}
		u := aws.ToString(out.DownloadUrl)
		// Handed out by one node, redirected by another.
		u = strings.Replace(u, a.Addr(), b.Addr(), 1)
		checkRedirect(t, get(t, noFollow, u, false))
		if resp := get(t, noFollow, strings.Replace(u, "sig=", "sig=AA", 1), false); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("tampered download URL: %d, want 403", resp.StatusCode)
		}
	})
}
