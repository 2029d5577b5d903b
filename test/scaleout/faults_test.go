package scaleout

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-registry/berth/test/internal/harness"
)

// faultStats counts what clients saw during an outage.
type faultStats struct {
	retried atomic.Int64 // retryable answers (5xx; 503 with Retry-After)
	mu      sync.Mutex
	bad     []string    // answers a client could not have handled
	seen    map[int]int // retryable answers by status (0: transport error)
}

func (s *faultStats) saw(status int) {
	s.retried.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[int]int{}
	}
	s.seen[status]++
}

func (s *faultStats) badf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) < 20 {
		s.bad = append(s.bad, fmt.Sprintf(format, args...))
	}
}

// retrying sends a request until it gets want, as a well-behaved client
// does: it retries transport errors and retryable answers (honouring a short
// Retry-After), and records any other answer as bad. It gives up after
// deadline.
func (r *reg) retrying(st *faultStats, deadline time.Time, want int, method, target string, body []byte, hdr map[string]string) (*http.Response, []byte, bool) {
	for {
		resp, b, err := r.do(method, target, body, hdr)
		switch {
		case err == nil && resp.StatusCode == want:
			return resp, b, true
		case err != nil:
			st.saw(0)
		default:
			ok, why := retryable(resp)
			if !ok {
				st.badf("%s %s: %s: %s", method, target, why, harness.Truncate(b, 2048))
				return resp, b, false
			}
			st.saw(resp.StatusCode)
		}
		if time.Now().After(deadline) {
			st.badf("%s %s: still failing at the deadline", method, target)
			return resp, b, false
		}
		delay := 200 * time.Millisecond
		if resp != nil {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				delay = min(time.Duration(s)*time.Second, time.Second)
			}
		}
		time.Sleep(delay)
	}
}

// pushImageRetrying pushes img through n, retrying each step.
func (r *reg) pushImageRetrying(st *faultStats, deadline time.Time, n *node, repo, tag string, img image) bool {
	for _, b := range img.blobs {
		for {
			resp, _, ok := r.retrying(st, deadline, http.StatusAccepted, http.MethodPost, n.URL()+"/v2/"+repo+"/blobs/uploads/", nil, nil)
			if !ok {
				return false
			}
			target := withDigest(onNode(r.t, resp.Header.Get("Location"), n), sha(b))
			presp, _, err := r.do(http.MethodPut, target, b, map[string]string{"Content-Type": "application/octet-stream"})
			if err == nil && presp.StatusCode == http.StatusCreated {
				break
			}
			status := 0
			if err == nil {
				if ok, why := retryable(presp); !ok {
					st.badf("PUT blob: %s", why)
					return false
				}
				status = presp.StatusCode
			}
			st.saw(status)
			if time.Now().After(deadline) {
				st.badf("PUT blob: still failing at the deadline")
				return false
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	_, _, ok := r.retrying(st, deadline, http.StatusCreated, http.MethodPut, n.URL()+"/v2/"+repo+"/manifests/"+tag, img.manifest,
		map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
	return ok
}

// TestFaults injects outages of the shared servers under load: clients see
// only retryable errors, no pushed byte is lost or corrupted, and the nodes
// recover without a restart.
func TestFaults(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.nodes[0], c.nodes[1]
	r := newReg(t, c.loginToken(t, a))

	t.Run("PostgresRestartDuringPushBurst", func(t *testing.T) {
		const workers, perWorker = 4, 6
		var st faultStats
		deadline := time.Now().Add(2 * time.Minute)
		var (
			mu     sync.Mutex
			pushed = map[string]image{}
			wg     sync.WaitGroup
			count  atomic.Int64
		)
		restarted := make(chan struct{})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := c.nodes[w%2]
				for i := 0; i < perWorker; i++ {
					if i == perWorker/2 {
						<-restarted // half the pushes after the restart
					}
					img := newImage(64 << 10)
					tag := fmt.Sprintf("w%d-%d", w, i)
					if !r.pushImageRetrying(&st, deadline, n, "so/burst", tag, img) {
						return
					}
					count.Add(1)
					mu.Lock()
					pushed[tag] = img
					mu.Unlock()
				}
			}()
		}
		// Restart once the burst is under way.
		for count.Load() < workers && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := restartPostgres(); err != nil {
			close(restarted)
			wg.Wait()
			t.Fatal(err)
		}
		close(restarted)
		wg.Wait()
		t.Logf("PostgreSQL restarted during the burst: %d images pushed, %d retryable answers %v", len(pushed), st.retried.Load(), st.seen)
		for _, e := range st.bad {
			t.Error(e)
		}
		if len(pushed) != workers*perWorker {
			t.Fatalf("%d of %d pushes completed", len(pushed), workers*perWorker)
		}
		for tag, img := range pushed {
			r.verifyImage(b, "so/burst", tag, img)
		}
	})

	t.Run("PostgresStoppedForSeconds", func(t *testing.T) {
		img := newImage(64 << 10)
		for _, blob := range img.blobs {
			r.pushBlob(a, "so/pgdown", blob)
		}
		if err := stopPostgres(); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		restarted := make(chan error, 1)
		go func() {
			time.Sleep(3*time.Second - time.Since(stopped))
			restarted <- startPostgres()
		}()
		// While it is down, a manifest push (a metadata write) is refused
		// with a retryable answer, and goes through once it is back.
		resp, body, err := r.do(http.MethodPut, b.URL()+"/v2/so/pgdown/manifests/v1", img.manifest,
			map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := retryable(resp); !ok {
			t.Errorf("manifest push with PostgreSQL down: %s: %s", why, harness.Truncate(body, 2048))
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("manifest push with PostgreSQL down: %d, want 503 (metadata store unavailable)", resp.StatusCode)
		}
		var st faultStats
		if _, _, ok := r.retrying(&st, time.Now().Add(2*time.Minute), http.StatusCreated, http.MethodPut, b.URL()+"/v2/so/pgdown/manifests/v1",
			img.manifest, map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}); !ok {
			t.Fatalf("manifest push after PostgreSQL came back: %v", st.bad)
		}
		if err := <-restarted; err != nil {
			t.Fatal(err)
		}
		t.Logf("PostgreSQL stopped for ~3s: %d retryable answers %v before the push got through", st.retried.Load(), st.seen)
		r.verifyImage(a, "so/pgdown", "v1", img)
	})

	t.Run("S3StoppedForSeconds", func(t *testing.T) {
		before := newImage(256 << 10)
		r.pushImage(a, "so/s3", "before", before)
		if err := env.s3.kill(); err != nil {
			t.Fatalf("stop versitygw: %v", err)
		}
		killed := time.Now()
		// While S3 is down: blob reads and writes fail retryably, and manifests
		// (metadata plus the core's cache) may still be served.
		var st faultStats
		var layer string
		for d := range before.blobs {
			layer = d
		}
		resp, body, err := r.do(http.MethodGet, b.URL()+"/v2/so/s3/blobs/"+layer, nil, nil)
		if err != nil {
			t.Fatalf("GET blob during the outage: %v", err)
		}
		if ok, why := retryable(resp); !ok {
			t.Errorf("GET blob during the outage: %s: %s", why, harness.Truncate(body, 2048))
		}
		data := []byte(randomHex(128 << 10))
		resp, _, err = r.do(http.MethodPost, a.URL()+"/v2/so/s3/blobs/uploads/", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusAccepted {
			resp, body, err = r.do(http.MethodPut, withDigest(onNode(t, resp.Header.Get("Location"), a), sha(data)), data, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		if ok, why := retryable(resp); !ok {
			t.Errorf("blob upload during the outage: %s: %s", why, harness.Truncate(body, 2048))
		}
		// Bring it back after a few seconds; clients retrying meanwhile get
		// through once it is up.
		go func() {
			time.Sleep(3*time.Second - time.Since(killed))
			if err := env.s3.restart(); err != nil {
				t.Errorf("restart versitygw: %v", err)
			}
		}()
		after := newImage(256 << 10)
		if !r.pushImageRetrying(&st, time.Now().Add(2*time.Minute), b, "so/s3", "after", after) {
			t.Fatalf("push after the outage: %v", st.bad)
		}
		for _, e := range st.bad {
			t.Error(e)
		}
		t.Logf("S3 stopped for ~3s: %d retryable answers %v before the push got through", st.retried.Load(), st.seen)
		r.verifyImage(a, "so/s3", "before", before)
		r.verifyImage(b, "so/s3", "after", after)
	})
}
