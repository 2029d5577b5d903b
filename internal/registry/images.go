package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/meta"
)

// Tag status filters (ECR's names).
const (
	TagStatusAny      = "ANY"
	TagStatusTagged   = "TAGGED"
	TagStatusUntagged = "UNTAGGED"
)

// ImageID names an image by digest, tag, or both (ECR's imageId).
type ImageID struct {
	Digest digest.Digest
	Tag    string
}

func (id ImageID) String() string {
	switch {
	case id.Digest != "" && id.Tag != "":
		return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", id.Digest, id.Tag)
	case id.Digest != "":
		return fmt.Sprintf("{imageDigest:'%s'}", id.Digest)
	default:
		return fmt.Sprintf("{imageTag:'%s'}", id.Tag)
	}
}

// Image is a manifest with the tags that point at it.
type Image struct {
	*Manifest
	Tags []string
}

// ListImages returns up to limit images of repo ordered by digest after the
// given digest, filtered by tag status. next is the digest to continue after,
// empty when the listing is complete. Keyset pagination keeps pages stable
// under concurrent pushes and deletes.
func (r *Registry) ListImages(ctx context.Context, repo string, after digest.Digest, limit int, tagStatus string) (images []Image, next digest.Digest, err error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 1000
	}
	for len(images) < limit {
		batch, err := r.meta.ListManifests(ctx, repo, after, limit)
		if err != nil {
			return nil, "", internal(err, "list images of %s", repo)
		}
		if len(batch) == 0 {
			break
		}
		// The batch is in digest order: one query fetches all its tags.
		tagsOf, err := r.meta.TagsInRange(ctx, repo, batch[0].Digest, batch[len(batch)-1].Digest)
		if err != nil {
			return nil, "", internal(err, "list tags of %s", repo)
		}
		for i := range batch {
			m := &batch[i]
			after = m.Digest
			tags := tagsOf[m.Digest]
			if tagStatus == TagStatusTagged && len(tags) == 0 || tagStatus == TagStatusUntagged && len(tags) > 0 {
				continue
			}
			images = append(images, Image{Manifest: m, Tags: tags})
			if len(images) == limit {
				if i < len(batch)-1 || len(batch) == limit {
					next = m.Digest
				}
				return images, next, nil
			}
		}
		if len(batch) < limit {
			break
		}
	}
	return images, "", nil
}

// FindImage resolves an image id in repo. A digest and tag given together
// must agree.
func (r *Registry) FindImage(ctx context.Context, repo string, id ImageID) (*Image, error) {
	if err := ValidateRepositoryName(repo); err != nil {
		return nil, err
	}
	dgst := id.Digest
	if id.Tag != "" {
		t, err := r.meta.GetTag(ctx, repo, id.Tag)
		if errors.Is(err, meta.ErrNotFound) {
			return nil, r.imageMiss(ctx, repo, id)
		}
		if err != nil {
			return nil, internal(err, "resolve tag %s", id.Tag)
		}
		if dgst != "" && dgst != t.Digest {
			return nil, r.imageMiss(ctx, repo, id)
		}
		dgst = t.Digest
	}
	if dgst == "" {
		return nil, Errorf(KindInvalidParameter, "an image id needs an imageDigest or an imageTag")
	}
	m, err := r.meta.GetManifest(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, r.imageMiss(ctx, repo, id)
	}
	if err != nil {
		return nil, internal(err, "get manifest %s", dgst)
	}
	tags, err := r.meta.TagsOf(ctx, repo, dgst)
	if err != nil {
		return nil, internal(err, "list tags of %s", dgst)
	}
	return &Image{Manifest: m, Tags: tags}, nil
}

// imageMiss explains a failed image lookup: unknown repository or image.
func (r *Registry) imageMiss(ctx context.Context, repo string, id ImageID) error {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return err
	}
	return &Error{Kind: KindManifestUnknown, Message: fmt.Sprintf("The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, repo, r.cfg.RegistryID)}
}

// DeleteImage deletes an image the way ECR's BatchDeleteImage does: by digest
// it removes the image and all its tags; by tag it removes the tag, and the
// image too when that was its last tag. It returns the deleted image's id.
func (r *Registry) DeleteImage(ctx context.Context, repo string, id ImageID) (ImageID, error) {
	var deleted ImageID
	err := r.meta.InTx(ctx, func(q meta.Queries) error {
		img, err := r.findImageTx(ctx, q, repo, id)
		if err != nil {
			return err
		}
		deleted = ImageID{Digest: img.Digest, Tag: id.Tag}
		if id.Tag != "" && len(img.Tags) > 1 {
			if err := q.DeleteTag(ctx, repo, id.Tag); err != nil {
				return internal(err, "delete tag %s", id.Tag)
			}
			return nil
		}
		parents, err := q.ManifestParents(ctx, repo, img.Digest)
		if err != nil {
			return internal(err, "find parents of %s", img.Digest)
		}
		if len(parents) > 0 {
			return &Error{Kind: KindReferencedByIndex, Message: fmt.Sprintf("Image with digest %s is referenced by a manifest list %s", img.Digest, parents[0])}
		}
		if err := q.DeleteManifest(ctx, repo, img.Digest); err != nil {
			return internal(err, "delete manifest %s", img.Digest)
		}
		return nil
	})
	if err == nil {
		r.cache.forgetManifest(repo, deleted.Digest)
		if id.Tag != "" {
			r.cache.forgetTags(repo, id.Tag)
		}
	}
	return deleted, err
}

// findImageTx is FindImage inside a transaction: the same Registry, every
// field shared, but reading through q.
func (r *Registry) findImageTx(ctx context.Context, q meta.Queries, repo string, id ImageID) (*Image, error) {
	tx := *r
	tx.meta = txStore{q}
	return tx.FindImage(ctx, repo, id)
}

// txStore lets read helpers written against meta.Store run inside a transaction.
type txStore struct{ meta.Queries }

func (t txStore) InTx(ctx context.Context, fn func(q meta.Queries) error) error { return fn(t.Queries) }
func (t txStore) Close() error                                                  { return nil }

// pullRecorder batches pull times so a manifest GET never waits for a write.
type pullRecorder struct {
	mu      sync.Mutex
	pending map[pullKey]time.Time
}

type pullKey struct {
	repo   string
	digest digest.Digest
}

// RecordPull notes that a manifest was pulled; FlushPulls writes it later.
func (r *Registry) RecordPull(repo string, dgst digest.Digest) {
	now := r.now()
	r.pulls.mu.Lock()
	if r.pulls.pending == nil {
		r.pulls.pending = make(map[pullKey]time.Time)
	}
	r.pulls.pending[pullKey{repo, dgst}] = now
	r.pulls.mu.Unlock()
}

// FlushPulls writes the pull times noted since the last flush.
func (r *Registry) FlushPulls(ctx context.Context) error {
	r.pulls.mu.Lock()
	pending := r.pulls.pending
	r.pulls.pending = nil
	r.pulls.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return r.meta.InTx(ctx, func(q meta.Queries) error {
		for k, at := range pending {
			err := q.RecordPull(ctx, k.repo, k.digest, at)
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return internal(err, "record pull of %s", k.digest)
			}
		}
		return nil
	})
}
