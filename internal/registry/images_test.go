package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

func TestListImagesPagesAndFilters(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	tagged := map[digest.Digest]bool{}
	for i, seed := range []string{"a", "b", "c", "d", "e"} {
		tag := "t-" + seed
		d := pushImage(t, r, "team/app", tag, seed)
		if i%2 == 0 {
			if err := r.DeleteManifest(ctx, "team/app", tag); err != nil { // untag: the image stays
				t.Fatal(err)
			}
		} else {
			tagged[d] = true
		}
	}
	tests := []struct {
		status string
		want   int
	}{{registry.TagStatusAny, 5}, {registry.TagStatusTagged, 2}, {registry.TagStatusUntagged, 3}}
	for _, tt := range tests {
		var all []registry.Image
		var after digest.Digest
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			imgs, next, err := r.ListImages(ctx, "team/app", after, 2, tt.status)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, imgs...)
			if next == "" {
				break
			}
			after = next
		}
		if len(all) != tt.want {
			t.Fatalf("%s: got %d images, want %d", tt.status, len(all), tt.want)
		}
		for i, img := range all {
			if i > 0 && all[i-1].Digest >= img.Digest {
				t.Fatalf("%s: not ordered or duplicated", tt.status)
			}
			if tagged[img.Digest] != (len(img.Tags) > 0) {
				t.Fatalf("%s: image %s has tags %v", tt.status, img.Digest, img.Tags)
			}
		}
	}
}

func TestDeleteImageLikeECR(t *testing.T) {
	ctx := context.Background()
	r, _ := newCore(t, true)
	d := pushImage(t, r, "team/app", "v1", "x")
	if _, err := r.PutManifest(ctx, "team/app", "v2", "", mustManifest(t, r, d), nil); err != nil {
		t.Fatal(err)
	}
	// Removing one of two tags keeps the image.
	if _, err := r.DeleteImage(ctx, "team/app", registry.ImageID{Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	img, err := r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
	if err != nil || len(img.Tags) != 1 || img.Tags[0] != "v2" {
		t.Fatalf("after untag: %+v %v", img, err)
	}
	// Removing the last tag deletes the image.
	if _, err := r.DeleteImage(ctx, "team/app", registry.ImageID{Tag: "v2"}); err != nil {
		t.Fatal(err)
	}
	_, err = r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
	wantKind(t, err, registry.KindManifestUnknown)
	_, err = r.DeleteImage(ctx, "team/app", registry.ImageID{Tag: "v2"})
	wantKind(t, err, registry.KindManifestUnknown)
}

func TestPullTimesAreBatched(t *testing.T) {
	ctx := context.Background()
	r, c := newCore(t, true)
	d := pushImage(t, r, "team/app", "v1", "x")
	r.RecordPull("team/app", d)
	img, _ := r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
	if img.LastPulledAt != nil {
		t.Fatal("pull recorded before flush")
	}
	if err := r.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	img, _ = r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
	if img.LastPulledAt == nil || !img.LastPulledAt.Equal(c.t) {
		t.Fatalf("LastPulledAt = %v, want %v", img.LastPulledAt, c.t)
	}
	c.t = c.t.Add(time.Minute)
	r.RecordPull("team/app", d)
	r.RecordPull("team/gone", d) // unknown repositories are ignored
	if err := r.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	img, _ = r.FindImage(ctx, "team/app", registry.ImageID{Digest: d})
	if !img.LastPulledAt.Equal(c.t) {
		t.Fatalf("LastPulledAt = %v, want %v", img.LastPulledAt, c.t)
	}
}

func mustManifest(t *testing.T, r *registry.Registry, d digest.Digest) []byte {
	t.Helper()
	m, err := r.GetManifest(context.Background(), "team/app", d.String())
	if err != nil {
		t.Fatal(err)
	}
	return m.Content
}
