package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/registry"
)

// fakeCore is an in-memory stand-in for *registry.Registry with the
// documented semantics the adapter relies on (create on push, KindRangeInvalid
// for misplaced chunks, digest checks). It is no model of the core's rules.
type fakeCore struct {
	mu        sync.Mutex
	repos     map[string]bool
	blobs     map[string]map[digest.Digest][]byte
	uploads   map[string]*fakeUpload
	manifests map[string]map[digest.Digest]*registry.Manifest
	tags      map[string]map[string]digest.Digest
	nextID    int
	// lastTagsN records the n the adapter passed to ListTags.
	lastTagsN int
}

type fakeUpload struct {
	repo string
	data []byte
}

func newFakeCore() *fakeCore {
	return &fakeCore{
		repos:     map[string]bool{},
		blobs:     map[string]map[digest.Digest][]byte{},
		uploads:   map[string]*fakeUpload{},
		manifests: map[string]map[digest.Digest]*registry.Manifest{},
		tags:      map[string]map[string]digest.Digest{},
	}
}

func (f *fakeCore) validName(repo string) error {
	if repo == "" || strings.ToLower(repo) != repo || strings.Contains(repo, "//") || strings.HasPrefix(repo, "/") {
		return registry.Errorf(registry.KindNameInvalid, "invalid repository name %q", repo)
	}
	return nil
}

func (f *fakeCore) read(repo string) error {
	if err := f.validName(repo); err != nil {
		return err
	}
	if !f.repos[repo] {
		return registry.Errorf(registry.KindNameUnknown, "repository %s does not exist", repo)
	}
	return nil
}

func (f *fakeCore) push(repo string) error {
	if err := f.validName(repo); err != nil {
		return err
	}
	if !f.repos[repo] {
		f.repos[repo] = true
		f.blobs[repo] = map[digest.Digest][]byte{}
		f.manifests[repo] = map[digest.Digest]*registry.Manifest{}
		f.tags[repo] = map[string]digest.Digest{}
	}
	return nil
}

func (f *fakeCore) Catalog(_ context.Context, after string, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for r := range f.repos {
		if r > after {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (f *fakeCore) blob(repo string, dgst digest.Digest) ([]byte, error) {
	if err := f.read(repo); err != nil {
		return nil, err
	}
	b, ok := f.blobs[repo][dgst]
	if !ok {
		return nil, &registry.Error{Kind: registry.KindBlobUnknown, Message: "blob unknown", Detail: map[string]string{"digest": dgst.String()}}
	}
	return b, nil
}

func (f *fakeCore) StatBlob(_ context.Context, repo string, dgst digest.Digest) (registry.BlobInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.blob(repo, dgst)
	if err != nil {
		return registry.BlobInfo{}, err
	}
	return registry.BlobInfo{Digest: dgst, Size: int64(len(b))}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func (f *fakeCore) OpenBlob(_ context.Context, repo string, dgst digest.Digest) (io.ReadSeekCloser, registry.BlobInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.blob(repo, dgst)
	if err != nil {
		return nil, registry.BlobInfo{}, err
	}
	return nopCloser{bytes.NewReader(b)}, registry.BlobInfo{Digest: dgst, Size: int64(len(b))}, nil
}

func (f *fakeCore) DeleteBlob(_ context.Context, repo string, dgst digest.Digest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.blob(repo, dgst); err != nil {
		return err
	}
	delete(f.blobs[repo], dgst)
	return nil
}

func (f *fakeCore) MountBlob(_ context.Context, repo, from string, dgst digest.Digest) (registry.BlobInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.push(repo); err != nil {
		return registry.BlobInfo{}, err
	}
	var src []byte
	found := false
	if from != "" {
		b, err := f.blob(from, dgst)
		if err != nil {
			return registry.BlobInfo{}, err
		}
		src, found = b, true
	} else {
		for _, m := range f.blobs {
			if b, ok := m[dgst]; ok {
				src, found = b, true
				break
			}
		}
	}
	if !found {
		return registry.BlobInfo{}, registry.Errorf(registry.KindBlobUnknown, "blob unknown")
	}
	f.blobs[repo][dgst] = src
	return registry.BlobInfo{Digest: dgst, Size: int64(len(src))}, nil
}

func (f *fakeCore) StartUpload(_ context.Context, repo string) (registry.UploadStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.push(repo); err != nil {
		return registry.UploadStatus{}, err
	}
	f.nextID++
	id := fmt.Sprintf("upload-%d", f.nextID)
	f.uploads[id] = &fakeUpload{repo: repo}
	return registry.UploadStatus{ID: id, Repository: repo}, nil
}

func (f *fakeCore) upload(repo, id string) (*fakeUpload, error) {
	u, ok := f.uploads[id]
	if !ok || u.repo != repo {
		return nil, registry.Errorf(registry.KindBlobUploadUnknown, "upload unknown")
	}
	return u, nil
}

func (f *fakeCore) GetUpload(_ context.Context, repo, id string) (registry.UploadStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.upload(repo, id)
	if err != nil {
		return registry.UploadStatus{}, err
	}
	return registry.UploadStatus{ID: id, Repository: repo, Offset: int64(len(u.data))}, nil
}

func (f *fakeCore) appendTo(u *fakeUpload, offset int64, body io.Reader) error {
	if offset >= 0 && offset != int64(len(u.data)) {
		return registry.Errorf(registry.KindRangeInvalid, "chunk at %d, upload holds %d", offset, len(u.data))
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return &registry.Error{Kind: registry.KindBlobUploadInvalid, Message: "failed to receive upload data", Err: err}
	}
	u.data = append(u.data, b...)
	return nil
}

func (f *fakeCore) AppendUpload(_ context.Context, repo, id string, offset int64, body io.Reader) (registry.UploadStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.upload(repo, id)
	if err != nil {
		return registry.UploadStatus{}, err
	}
	err = f.appendTo(u, offset, body)
	return registry.UploadStatus{ID: id, Repository: repo, Offset: int64(len(u.data))}, err
}

func (f *fakeCore) CompleteUpload(_ context.Context, repo, id string, offset int64, body io.Reader, dgst digest.Digest) (registry.BlobInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, err := f.upload(repo, id)
	if err != nil {
		return registry.BlobInfo{}, err
	}
	if body != nil {
		if err := f.appendTo(u, offset, body); err != nil {
			return registry.BlobInfo{}, err
		}
	}
	if dgst.Algorithm().FromBytes(u.data) != dgst {
		delete(f.uploads, id)
		return registry.BlobInfo{}, registry.Errorf(registry.KindDigestInvalid, "digest mismatch")
	}
	delete(f.uploads, id)
	f.blobs[repo][dgst] = u.data
	return registry.BlobInfo{Digest: dgst, Size: int64(len(u.data))}, nil
}

func (f *fakeCore) CancelUpload(_ context.Context, repo, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.upload(repo, id); err != nil {
		return err
	}
	delete(f.uploads, id)
	return nil
}

func (f *fakeCore) PutBlob(_ context.Context, repo string, dgst digest.Digest, body io.Reader) (registry.BlobInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.push(repo); err != nil {
		return registry.BlobInfo{}, err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return registry.BlobInfo{}, &registry.Error{Kind: registry.KindBlobUploadInvalid, Message: "failed to receive upload data", Err: err}
	}
	if dgst.Algorithm().FromBytes(b) != dgst {
		return registry.BlobInfo{}, registry.Errorf(registry.KindDigestInvalid, "digest mismatch")
	}
	f.blobs[repo][dgst] = b
	return registry.BlobInfo{Digest: dgst, Size: int64(len(b))}, nil
}

func (f *fakeCore) resolve(repo, ref string) (digest.Digest, error) {
	if strings.Contains(ref, ":") {
		return registry.ParseDigest(ref)
	}
	d, ok := f.tags[repo][ref]
	if !ok {
		return "", registry.Errorf(registry.KindManifestUnknown, "manifest unknown")
	}
	return d, nil
}

func (f *fakeCore) GetManifest(_ context.Context, repo, ref string) (*registry.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.read(repo); err != nil {
		return nil, err
	}
	d, err := f.resolve(repo, ref)
	if err != nil {
		return nil, err
	}
	m, ok := f.manifests[repo][d]
	if !ok {
		return nil, registry.Errorf(registry.KindManifestUnknown, "manifest unknown")
	}
	return m, nil
}

func (f *fakeCore) PutManifest(_ context.Context, repo, ref, contentType string, content []byte, extraTags []string) (registry.PutManifestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.push(repo); err != nil {
		return registry.PutManifestResult{}, err
	}
	var parsed struct {
		Subject *ocispec.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(content, &parsed); err != nil {
		return registry.PutManifestResult{}, registry.Errorf(registry.KindManifestInvalid, "manifest invalid")
	}
	alg := digest.Canonical
	tags := slices.Clone(extraTags)
	if strings.Contains(ref, ":") {
		claimed, err := registry.ParseDigest(ref)
		if err != nil {
			return registry.PutManifestResult{}, err
		}
		alg = claimed.Algorithm()
		if alg.FromBytes(content) != claimed {
			return registry.PutManifestResult{}, registry.Errorf(registry.KindDigestInvalid, "digest mismatch")
		}
	} else {
		tags = append(tags, ref)
	}
	d := alg.FromBytes(content)
	m := &registry.Manifest{Repository: repo, Digest: d, MediaType: contentType, Content: content}
	if parsed.Subject != nil {
		m.Subject = parsed.Subject.Digest
	}
	f.manifests[repo][d] = m
	for _, t := range tags {
		f.tags[repo][t] = d
	}
	return registry.PutManifestResult{Digest: d, Subject: m.Subject}, nil
}

func (f *fakeCore) DeleteManifest(_ context.Context, repo, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.read(repo); err != nil {
		return err
	}
	if !strings.Contains(ref, ":") {
		if _, ok := f.tags[repo][ref]; !ok {
			return registry.Errorf(registry.KindManifestUnknown, "manifest unknown")
		}
		delete(f.tags[repo], ref)
		return nil
	}
	d, err := registry.ParseDigest(ref)
	if err != nil {
		return err
	}
	if _, ok := f.manifests[repo][d]; !ok {
		return registry.Errorf(registry.KindManifestUnknown, "manifest unknown")
	}
	delete(f.manifests[repo], d)
	return nil
}

func (f *fakeCore) ListTags(_ context.Context, repo, after string, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastTagsN = n
	if err := f.read(repo); err != nil {
		return nil, err
	}
	out := []string{}
	if n == 0 {
		return out, nil
	}
	for t := range f.tags[repo] {
		if t > after {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (f *fakeCore) ListReferrers(_ context.Context, repo string, dgst digest.Digest, artifactType string) (registry.Referrers, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.read(repo); err != nil {
		return nil, err
	}
	out := registry.Referrers{}
	for _, m := range f.manifests[repo] {
		if m.Subject != dgst || artifactType != "" && m.ArtifactType != artifactType {
			continue
		}
		out = append(out, ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Content)), ArtifactType: m.ArtifactType})
	}
	return out, nil
}

func (f *fakeCore) RecordPullBy(string, digest.Digest, string) {}

func (f *fakeCore) BlobRepositories(_ context.Context, dgst digest.Digest, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for repo, m := range f.blobs {
		if _, ok := m[dgst]; ok {
			out = append(out, repo)
		}
	}
	sort.Strings(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
