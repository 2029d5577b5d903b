package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/sqlite"
)

// TestCreationTemplatePush creates a CREATE_ON_PUSH template with the SDK and
// pushes (go-containerregistry, over HTTP) to a missing repository on a
// server that does not create repositories on push otherwise.
func TestCreationTemplatePush(t *testing.T) {
	s := startServer(t, withoutCreateOnPush())
	ctx := t.Context()
	c := s.ecrClient()
	_, err := c.CreateRepositoryCreationTemplate(ctx, &ecr.CreateRepositoryCreationTemplateInput{
		Prefix:             aws.String("e2e/tmpl"),
		AppliedFor:         []ecrtypes.RCTAppliedFor{ecrtypes.RCTAppliedForCreateOnPush},
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		ResourceTags:       []ecrtypes.Tag{{Key: aws.String("team"), Value: aws.String("e2e")}},
	})
	if err != nil {
		t.Fatalf("CreateRepositoryCreationTemplate: %v", err)
	}
	img := randomImage(t, 1024, 1)
	if err := remote.Write(ref(t, s, "e2e/tmpl/app:v1"), img, s.remoteOpts(t)...); err != nil {
		t.Fatalf("push under the template: %v", err)
	}
	out, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"e2e/tmpl/app"}})
	if err != nil || len(out.Repositories) != 1 || out.Repositories[0].ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable {
		t.Fatalf("repository created from the template: %+v, %v", out, err)
	}
	// The template's immutability holds.
	if err := remote.Write(ref(t, s, "e2e/tmpl/app:v1"), randomImage(t, 1024, 1), s.remoteOpts(t)...); err == nil {
		t.Fatal("moving an immutable tag succeeded")
	}
	// Outside the template nothing is created.
	if err := remote.Write(ref(t, s, "e2e/other:v1"), img, s.remoteOpts(t)...); err == nil {
		t.Fatal("push outside every template created a repository")
	}
}

var reclaimedRE = regexp.MustCompile(`(?m)^berth_gc_reclaimed_bytes_total ([0-9.e+]+)$`)

// reclaimedBytes reads berth_gc_reclaimed_bytes_total from /metrics.
func reclaimedBytes(t *testing.T, s *server) float64 {
	t.Helper()
	r := s.do(t, http.MethodGet, "/metrics", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("%s", r)
	}
	m := reclaimedRE.FindSubmatch(r.Body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("berth_gc_reclaimed_bytes_total %q: %v", m[1], err)
	}
	return v
}

// sharedImage is base plus one unique layer.
func sharedImage(t *testing.T, base v1.Layer) v1.Image {
	t.Helper()
	l, err := random.Layer(2048, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestCrashDuringGC runs garbage collection continuously (tiny interval and
// grace period) while images are pushed and deleted, kills berth with
// SIGKILL several times, and checks that the store is consistent after a
// restart: every remaining image pulls and verifies, no deletion is left
// half done, and every blob file is recorded.
func TestCrashDuringGC(t *testing.T) {
	const grace = time.Second
	s := startServer(t, withArgs("--gc-interval", "50ms", "--gc-grace-period", grace.String()))
	c := s.ecrClient()
	base, err := random.Layer(8192, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]v1.Hash{} // repo:tag -> digest that must survive

	push := func(repo, tag string) error {
		img := sharedImage(t, base)
		if err := remote.Write(ref(t, s, repo+":"+tag), img, s.remoteOpts(t)...); err != nil {
			return err
		}
		kept[repo+":"+tag] = mustDigest(t, img)
		return nil
	}
	for i := range 4 {
		for _, repo := range []string{"e2e/gc-a", "e2e/gc-b"} {
			if err := push(repo, fmt.Sprintf("t%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Garbage: a deleted repository and deleted images.
	if _, err := c.DeleteRepository(t.Context(), &ecr.DeleteRepositoryInput{RepositoryName: aws.String("e2e/gc-b"), Force: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		delete(kept, fmt.Sprintf("e2e/gc-b:t%d", i))
	}
	if _, err := c.BatchDeleteImage(t.Context(), &ecr.BatchDeleteImageInput{
		RepositoryName: aws.String("e2e/gc-a"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("t0")}, {ImageTag: aws.String("t1")}},
	}); err != nil {
		t.Fatal(err)
	}
	delete(kept, "e2e/gc-a:t0")
	delete(kept, "e2e/gc-a:t1")
	// The collector reclaims them in the background and says so.
	for reclaimedBytes(t, s) == 0 {
		if !s.Running() {
			t.Fatal("berth exited")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Crash cycles: pushes and deletes run while the collector works; berth
	// is killed at a random moment.
	for cycle := range 3 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var mu sync.Mutex
		progress := make(chan struct{}, 1) // a push (and delete) went through
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(progress)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				repo := fmt.Sprintf("e2e/gc-c%d", i%3)
				img := sharedImage(t, base)
				tag := fmt.Sprintf("c%d-%d", cycle, i)
				if err := remote.Write(ref(t, s, repo+":"+tag), img, s.remoteOpts(t)...); err != nil {
					return // killed, or lost a race with the collector: fine
				}
				select {
				case progress <- struct{}{}:
				default:
				}
				if i%2 == 0 { // every other image is deleted again: garbage
					_, err := c.BatchDeleteImage(context.Background(), &ecr.BatchDeleteImageInput{
						RepositoryName: aws.String(repo), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
					})
					if err != nil {
						return
					}
					continue
				}
				mu.Lock()
				kept[repo+":"+tag] = mustDigest(t, img)
				mu.Unlock()
			}
		}()
		// Kill at a random moment once pushes are going through and the
		// garbage they leave has outlived the grace period.
		for range 3 {
			<-progress
		}
		time.Sleep(grace + time.Duration(rand.IntN(1500))*time.Millisecond)
		s.Kill()
		close(stop)
		wg.Wait()
		s.restart(t)
	}
	// Let the collector finish what the crashes left, past the grace period.
	time.Sleep(3 * grace)
	s.Stop(t)
	checkGCStore(t, s.DataDir, grace)
	s.restart(t)

	// Every image that was acknowledged and not deleted pulls and verifies.
	// (An image whose push was acknowledged just before a kill may be one a
	// delete request was also sent for; only acknowledged-and-kept ones count.)
	for r, want := range kept {
		img, err := remote.Image(ref(t, s, r), s.remoteOpts(t)...)
		if err != nil {
			t.Errorf("pull %s: %v", r, err)
			continue
		}
		if got := mustDigest(t, img); got != want {
			t.Errorf("%s: digest %s, want %s", r, got, want)
		}
		if err := verifyImage(img); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	t.Logf("%d images verified after 3 crashes during GC", len(kept))
}

// checkGCStore opens a stopped server's stores and checks what GC guarantees.
func checkGCStore(t *testing.T, dataDir string, grace time.Duration) {
	t.Helper()
	ctx := t.Context()
	m, err := sqlite.Open(ctx, filepath.Join(dataDir, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b, err := fs.New(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := m.ListBlobDeletions(ctx, meta.BlobDeleting, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Errorf("deletions left half done: %+v", pending)
	}
	files := 0
	cutoff := time.Now().Add(-grace)
	err = b.WalkBlobs(ctx, func(d digest.Digest, _ int64, mod time.Time) error {
		files++
		if _, err := m.GetBlob(ctx, d); errors.Is(err, meta.ErrNotFound) && mod.Before(cutoff) {
			t.Errorf("blob file %s is recorded nowhere and older than the grace period", d)
		} else if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	garbage, err := m.ListGarbageBlobs(ctx, cutoff, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d blob files, %d unreferenced blobs within the grace period", files, len(garbage))
}
