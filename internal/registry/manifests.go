package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/meta"
)

// GetManifest resolves reference (a tag or a digest) in repo.
func (r *Registry) GetManifest(ctx context.Context, repo, reference string) (*Manifest, error) {
	if err := ValidateRepositoryName(repo); err != nil {
		return nil, err
	}
	if m, ok := r.cachedManifest(repo, reference); ok {
		return m, nil
	}
	gen := r.cache.generation()
	dgst, err := r.resolve(ctx, repo, reference)
	if err != nil {
		return nil, err
	}
	m, err := r.meta.GetManifest(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, r.manifestMiss(ctx, repo, reference)
	}
	if err != nil {
		return nil, internal(err, "get manifest %s", dgst)
	}
	if err := r.checkPullable(ctx, repo, dgst); err != nil { // lifecycle.go
		return nil, err
	}
	tag := ""
	if !IsDigestReference(reference) {
		tag = reference
	}
	r.cache.put(gen, repo, tag, m)
	return m, nil
}

// cachedManifest serves a reference from the cache: the hot path of a pull.
func (r *Registry) cachedManifest(repo, reference string) (*Manifest, bool) {
	var d digest.Digest
	if IsDigestReference(reference) {
		d = digest.Digest(reference)
	} else {
		var ok bool
		if d, ok = r.cache.tag(repo, reference); !ok {
			return nil, false
		}
	}
	return r.cache.manifest(repo, d)
}

// resolve turns a reference into a digest, looking tags up.
func (r *Registry) resolve(ctx context.Context, repo, reference string) (digest.Digest, error) {
	if IsDigestReference(reference) {
		return ParseDigest(reference)
	}
	if err := ValidateTag(reference); err != nil {
		return "", err
	}
	t, err := r.meta.GetTag(ctx, repo, reference)
	if errors.Is(err, meta.ErrNotFound) {
		return "", r.manifestMiss(ctx, repo, reference)
	}
	if err != nil {
		return "", internal(err, "resolve tag %s", reference)
	}
	return t.Digest, nil
}

// manifestMiss explains a miss: unknown repository or unknown manifest.
func (r *Registry) manifestMiss(ctx context.Context, repo, reference string) error {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return err
	}
	return &Error{Kind: KindManifestUnknown, Message: fmt.Sprintf("manifest %s is not known to repository %s", quoteTrunc(reference), repo), Detail: map[string]string{"reference": reference}}
}

// PutManifest validates and stores a manifest under reference (a tag or its
// digest) and additionally under every tag in extraTags.
func (r *Registry) PutManifest(ctx context.Context, repo, reference, contentType string, content []byte, extraTags []string) (PutManifestResult, error) {
	if err := ValidateRepositoryName(repo); err != nil {
		return PutManifestResult{}, err
	}
	var tags []string
	alg := digest.SHA256
	var claimed digest.Digest
	if IsDigestReference(reference) {
		d, err := ParseDigest(reference)
		if err != nil {
			return PutManifestResult{}, err
		}
		claimed, alg = d, d.Algorithm()
	} else {
		tags = append(tags, reference)
	}
	tags = append(tags, extraTags...)
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return PutManifestResult{}, err
		}
	}
	p, err := parseManifest(contentType, content)
	if err != nil {
		return PutManifestResult{}, err
	}
	dgst := alg.FromBytes(content)
	if claimed != "" && claimed != dgst {
		return PutManifestResult{}, &Error{Kind: KindDigestInvalid, Message: fmt.Sprintf("manifest content has digest %s, not %s", dgst, claimed), Detail: map[string]string{"digest": claimed.String()}}
	}

	now := r.now()
	m := &meta.Manifest{
		Repository:   repo,
		Digest:       dgst,
		MediaType:    p.MediaType,
		Content:      content,
		ArtifactType: p.ArtifactType,
		Subject:      p.Subject,
		ConfigDigest: p.ConfigDigest,
		Annotations:  p.Annotations,
		PushedAt:     now,
	}
	changed := false
	mediaType := m.MediaType
	err = r.meta.InTx(ctx, func(q meta.Queries) error {
		changed, mediaType = false, m.MediaType
		mr, err := r.repositoryForPush(ctx, q, repo)
		if err != nil {
			return err
		}
		settings, err := decodeRepository(mr)
		if err != nil {
			return err
		}
		refs, size, err := r.checkReferences(ctx, q, repo, p)
		if err != nil {
			return err
		}
		m.ImageSize = size
		switch cur, err := q.GetManifest(ctx, repo, dgst); {
		case err == nil:
			mediaType = cur.MediaType
		case errors.Is(err, meta.ErrNotFound):
			changed = true
			if err := q.PutManifest(ctx, m, refs); err != nil {
				return internal(err, "store manifest %s", dgst)
			}
			if err := r.enqueueScanOnPush(ctx, q, repo, settings, m); err != nil { // scan.go
				return err
			}
		case err != nil:
			return internal(err, "get manifest %s", dgst)
		}
		for _, t := range tags {
			if settings.TagIsImmutable(t) {
				cur, err := q.GetTag(ctx, repo, t)
				if err != nil && !errors.Is(err, meta.ErrNotFound) {
					return internal(err, "get tag %s", t)
				}
				if err == nil && cur.Digest != dgst {
					return &Error{Kind: KindTagImmutable, Message: fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", t, repo), Detail: map[string]string{"tag": t}}
				}
			}
			prev, err := q.SetTag(ctx, repo, t, dgst, now)
			if err != nil {
				return internal(err, "tag %s", t)
			}
			changed = changed || prev != dgst
		}
		return nil
	})
	if err != nil {
		return PutManifestResult{}, err
	}
	r.cache.forgetTags(repo, tags...)
	return PutManifestResult{Digest: dgst, Subject: p.Subject, Changed: changed, MediaType: mediaType}, nil
}

// checkReferences confirms, inside the push's transaction, that everything
// the manifest references exists in repo, and computes the image size.
func (r *Registry) checkReferences(ctx context.Context, q meta.Queries, repo string, p *parsedManifest) (meta.Refs, int64, error) {
	var refs meta.Refs
	var size int64
	for _, d := range p.Blobs {
		b, err := q.GetRepositoryBlob(ctx, repo, d.Digest)
		if errors.Is(err, meta.ErrNotFound) {
			return refs, 0, &Error{Kind: KindManifestBlobUnknown, Message: fmt.Sprintf("manifest references blob %s, which is not in repository %s", d.Digest, repo), Detail: map[string]string{"digest": d.Digest.String()}}
		}
		if err != nil {
			return refs, 0, internal(err, "check blob %s", d.Digest)
		}
		if b.Size != d.Size {
			return refs, 0, Errorf(KindManifestInvalid, "descriptor for blob %s says %d bytes but the blob has %d", d.Digest, d.Size, b.Size)
		}
		refs.Blobs = append(refs.Blobs, d.Digest)
		size += b.Size
	}
	for _, d := range p.Children {
		child, err := q.GetManifest(ctx, repo, d.Digest)
		if errors.Is(err, meta.ErrNotFound) {
			return refs, 0, &Error{Kind: KindManifestBlobUnknown, Message: fmt.Sprintf("index references manifest %s, which is not in repository %s", d.Digest, repo), Detail: map[string]string{"digest": d.Digest.String()}}
		}
		if err != nil {
			return refs, 0, internal(err, "check manifest %s", d.Digest)
		}
		if int64(len(child.Content)) != d.Size {
			return refs, 0, Errorf(KindManifestInvalid, "descriptor for manifest %s says %d bytes but the manifest has %d", d.Digest, d.Size, len(child.Content))
		}
		refs.Manifests = append(refs.Manifests, d.Digest)
		// An index is as large as its largest image (as ECR reports it).
		size = max(size, child.ImageSize)
	}
	return refs, size, nil
}

// DeleteManifest deletes a manifest when reference is a digest, or only the
// tag when reference is a tag. A manifest that an index still lists cannot be
// deleted before the index.
func (r *Registry) DeleteManifest(ctx context.Context, repo, reference string) error {
	if err := ValidateRepositoryName(repo); err != nil {
		return err
	}
	if !IsDigestReference(reference) {
		if err := ValidateTag(reference); err != nil {
			return err
		}
		err := r.meta.DeleteTag(ctx, repo, reference)
		r.cache.forgetTags(repo, reference)
		if errors.Is(err, meta.ErrNotFound) {
			return r.manifestMiss(ctx, repo, reference)
		}
		if err != nil {
			return internal(err, "delete tag %s", reference)
		}
		return nil
	}
	dgst, err := ParseDigest(reference)
	if err != nil {
		return err
	}
	defer r.cache.forgetManifest(repo, dgst)
	return r.meta.InTx(ctx, func(q meta.Queries) error {
		parents, err := q.ManifestParents(ctx, repo, dgst)
		if err != nil {
			return internal(err, "find parents of %s", dgst)
		}
		if len(parents) > 0 {
			return &Error{Kind: KindReferencedByIndex, Message: fmt.Sprintf("manifest %s is referenced by manifest list %s; delete the list first", dgst, parents[0]), Detail: map[string]string{"digest": dgst.String()}}
		}
		err = q.DeleteManifest(ctx, repo, dgst)
		if errors.Is(err, meta.ErrNotFound) {
			return r.manifestMiss(ctx, repo, reference)
		}
		if err != nil {
			return internal(err, "delete manifest %s", dgst)
		}
		return nil
	})
}

// ListTags lists repo's tags in lexical order after the given tag; n < 0
// means all, n == 0 none.
func (r *Registry) ListTags(ctx context.Context, repo, after string, n int) ([]string, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	if n == 0 {
		return []string{}, nil
	}
	tags, err := r.meta.ListTags(ctx, repo, after, max(n, 0))
	if err != nil {
		return nil, internal(err, "list tags of %s", repo)
	}
	if tags == nil {
		tags = []string{}
	}
	return tags, nil
}

// ListReferrers lists the manifests in repo whose subject is dgst, optionally
// filtered by artifactType. An unknown subject has no referrers (not an error).
func (r *Registry) ListReferrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) (Referrers, error) {
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	if err := validateDigest(dgst); err != nil {
		return nil, err
	}
	ms, err := r.meta.ListReferrers(ctx, repo, dgst, artifactType)
	if err != nil {
		return nil, internal(err, "list referrers of %s", dgst)
	}
	out := make(Referrers, 0, len(ms))
	for _, m := range ms {
		out = append(out, ocispec.Descriptor{
			MediaType:    m.MediaType,
			Digest:       m.Digest,
			Size:         int64(len(m.Content)),
			ArtifactType: m.ArtifactType,
			Annotations:  m.Annotations,
		})
	}
	return out, nil
}
