package scaleout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-registry/berth/test/internal/harness"
)

// TestCluster drives three nodes sharing one PostgreSQL database and one S3
// bucket prefix, as behind a load balancer that sends each request anywhere.
func TestCluster(t *testing.T) {
	c := newCluster(t, 3)
	a, b, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	r := newReg(t, c.loginToken(t, a))

	t.Run("TokenFromOneNodeAcceptedByAnother", func(t *testing.T) {
		tok := c.loginToken(t, b)
		for _, n := range c.nodes {
			resp, _, err := newReg(t, tok).do(http.MethodGet, n.URL()+"/v2/", nil, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("token from %s on %s: %v %v", b.Addr(), n.Addr(), resp.StatusCode, err)
			}
			resp, _, err = newReg(t, tok[:len(tok)-4]+"AAAA").do(http.MethodGet, n.URL()+"/v2/", nil, nil)
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("tampered token on %s: %v %v, want 401", n.Addr(), resp.StatusCode, err)
			}
		}
	})

	t.Run("ChunkedPushAlternatingNodes", func(t *testing.T) {
		// 3 MiB chunks: each S3 part (>= 5 MiB) is assembled from chunks that
		// different nodes received.
		const chunk = 3 << 20
		data := []byte(randomHex(7 * chunk / 2))[:7*chunk]
		repo := "so/chunked"
		loc := r.startUpload(a, repo)
		for i, off := 0, 0; off < len(data); i, off = i+1, off+chunk {
			loc = r.patch(c.nodes[i%3], loc, off, data[off:min(off+chunk, len(data))])
		}
		d := sha(data)
		r.must(http.StatusCreated, http.MethodPut, withDigest(onNode(t, loc, b), d), nil, nil)
		for _, n := range c.nodes {
			_, got := r.must(http.StatusOK, http.MethodGet, n.URL()+"/v2/"+repo+"/blobs/"+d, nil, nil)
			if sha(got) != d {
				t.Fatalf("blob from %s: digest %s, want %s", n.Addr(), sha(got), d)
			}
		}
		// Resuming: the upload status on another node reports the bytes so far.
		loc = r.startUpload(b, repo)
		loc = r.patch(a, loc, 0, data[:chunk])
		resp, _ := r.must(http.StatusNoContent, http.MethodGet, onNode(t, loc, n3), nil, nil)
		if got := resp.Header.Get("Range"); got != fmt.Sprintf("0-%d", chunk-1) {
			t.Fatalf("upload status on another node: Range %q", got)
		}
		r.must(http.StatusNoContent, http.MethodDelete, onNode(t, loc, b), nil, nil)
	})

	t.Run("PushOnOnePullFromAnother", func(t *testing.T) {
		img := newImage(1 << 20)
		r.pushImage(a, "so/app", "v1", img)
		r.verifyImage(b, "so/app", "v1", img)
		r.verifyImage(n3, "so/app", "v1", img)
		// And the ECR API on a third node sees it.
		out, err := c.ecrClient(n3).DescribeImages(context.Background(), &ecr.DescribeImagesInput{
			RepositoryName: aws.String("so/app"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}},
		})
		if err != nil || len(out.ImageDetails) != 1 || aws.ToString(out.ImageDetails[0].ImageDigest) != img.digest {
			t.Fatalf("DescribeImages on %s: %+v %v", n3.Addr(), out, err)
		}
	})

	t.Run("ConcurrentPushesOfOneTag", func(t *testing.T) {
		const rounds = 6
		repo := "so/race"
		for round := 0; round < rounds; round++ {
			tag := fmt.Sprintf("r%d", round)
			imgs := []image{newImage(256), newImage(256)}
			nodes := []*node{a, b}
			for i := range imgs {
				for _, blob := range imgs[i].blobs {
					r.pushBlob(nodes[i], repo, blob)
				}
			}
			var wg sync.WaitGroup
			errs := make([]string, 2)
			for i := range imgs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, body, err := r.do(http.MethodPut, nodes[i].URL()+"/v2/"+repo+"/manifests/"+tag, imgs[i].manifest,
						map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
					switch {
					case err != nil:
						errs[i] = err.Error()
					case resp.StatusCode != http.StatusCreated:
						errs[i] = fmt.Sprintf("status %d: %s", resp.StatusCode, harness.Truncate(body, 2048))
					}
				}()
			}
			wg.Wait()
			for i, e := range errs {
				if e != "" {
					t.Fatalf("round %d: push to %s: %s", round, nodes[i].Addr(), e)
				}
			}
			winner := tagOwner(t, c, a, repo, tag)
			if winner != imgs[0].digest && winner != imgs[1].digest {
				t.Fatalf("round %d: tag points at %s, pushed neither", round, winner)
			}
			// Every node converges on the winner (caches expire after the TTL).
			for _, n := range c.nodes {
				waitTag(t, r, n, repo, tag, winner)
			}
		}
	})

	t.Run("NodeKilledMidUpload", func(t *testing.T) {
		victim := c.addNode()
		const chunk = 6 << 20
		data := []byte(randomHex(3 * chunk / 2))[:3*chunk]
		repo := "so/crash"
		loc := r.startUpload(victim, repo)
		loc = r.patch(victim, loc, 0, data[:chunk])

		// Stream the second chunk to the victim and kill it half way.
		pr, pw := io.Pipe()
		req, err := http.NewRequest(http.MethodPatch, onNode(t, loc, victim), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("AWS", r.token)
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", chunk, 2*chunk-1))
		req.ContentLength = chunk
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("PATCH finished with %d although the node died", resp.StatusCode)
			}
			done <- err
		}()
		if _, err := pw.Write(data[chunk : chunk+chunk/2]); err != nil {
			t.Fatalf("streaming to the victim: %v", err)
		}
		victim.Kill()
		pw.CloseWithError(io.ErrUnexpectedEOF)
		if err := <-done; err == nil {
			t.Fatal("PATCH to a killed node succeeded")
		}

		// The client asks another node where the upload stands and resumes.
		resp, _ := r.must(http.StatusNoContent, http.MethodGet, onNode(t, loc, a), nil, nil)
		var end int
		if _, err := fmt.Sscanf(resp.Header.Get("Range"), "0-%d", &end); err != nil {
			t.Fatalf("upload status Range %q: %v", resp.Header.Get("Range"), err)
		}
		offset := end + 1
		if offset != chunk {
			t.Fatalf("after the crash the upload holds %d bytes, want the %d acknowledged", offset, chunk)
		}
		loc = resp.Header.Get("Location")
		for off := offset; off < len(data); off += chunk {
			loc = r.patch(a, loc, off, data[off:min(off+chunk, len(data))])
		}
		d := sha(data)
		r.must(http.StatusCreated, http.MethodPut, withDigest(onNode(t, loc, b), d), nil, nil)
		_, got := r.must(http.StatusOK, http.MethodGet, n3.URL()+"/v2/"+repo+"/blobs/"+d, nil, nil)
		if sha(got) != d {
			t.Fatalf("blob after the crash: digest %s, want %s", sha(got), d)
		}
	})
}

// tagOwner asks the ECR API which image holds tag: exactly one must.
func tagOwner(t *testing.T, c *cluster, n *node, repo, tag string) string {
	t.Helper()
	out, err := c.ecrClient(n).ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	var owners []string
	for _, id := range out.ImageIds {
		if aws.ToString(id.ImageTag) == tag {
			owners = append(owners, aws.ToString(id.ImageDigest))
		}
	}
	if len(owners) != 1 {
		t.Fatalf("tag %s is held by %d images: %v", tag, len(owners), owners)
	}
	return owners[0]
}

// waitTag polls n until tag resolves to want. Nodes cache tags for a few
// seconds, so another node's write shows up after at most that long; the
// deadline is generous and only bounds a hang.
func waitTag(t *testing.T, r *reg, n *node, repo, tag, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		resp, _, err := r.do(http.MethodHead, n.URL()+"/v2/"+repo+"/manifests/"+tag, nil,
			map[string]string{"Accept": "application/vnd.oci.image.manifest.v1+json"})
		if err == nil && resp.StatusCode == http.StatusOK {
			if got = resp.Header.Get("Docker-Content-Digest"); got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: tag %s resolves to %s, never to the winner %s", n.Addr(), tag, got, want)
}
