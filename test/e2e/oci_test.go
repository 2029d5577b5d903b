package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func randomImage(t testing.TB, byteSize, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(byteSize, layers)
	if err != nil {
		t.Fatalf("random image: %v", err)
	}
	return img
}

// randomOCIImage is randomImage with OCI rather than Docker media types.
func randomOCIImage(t testing.TB, byteSize, layers int64) v1.Image {
	t.Helper()
	img := mutate.MediaType(randomImage(t, byteSize, layers), types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

func mustDigest(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	return h
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushPullImages(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		name     string
		byteSize int64
		layers   int64
		oci      bool
	}{
		{"single small layer", 1024, 1, false},
		{"five layers", 256 << 10, 5, false},
		{"one large layer", 24 << 20, 1, false},
		{"no layers", 0, 0, false},
		{"oci media types", 64 << 10, 3, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := randomImage(t, tc.byteSize, tc.layers)
			if tc.oci {
				img = randomOCIImage(t, tc.byteSize, tc.layers)
			}
			want := mustDigest(t, img)
			tag := ref(t, s, fmt.Sprintf("e2e/images:v%d", i))
			if err := remote.Write(tag, img, s.remoteOpts(t)...); err != nil {
				t.Fatalf("push %s: %v", tag, err)
			}
			for _, r := range []name.Reference{tag, tag.Context().Digest(want.String())} {
				pulled, err := remote.Image(r, s.remoteOpts(t)...)
				if err != nil {
					t.Fatalf("pull %s: %v", r, err)
				}
				if got := mustDigest(t, pulled); got != want {
					t.Errorf("pull %s: digest %s, want %s", r, got, want)
				}
				if err := verifyImage(pulled); err != nil {
					t.Errorf("pull %s: %v", r, err)
				}
			}

			// The manifest comes back byte for byte, with its digest header.
			raw, err := img.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			mt, _ := img.MediaType()
			r := s.do(t, http.MethodGet, "/v2/e2e/images/manifests/"+tag.Identifier(), nil, "Accept", string(mt))
			if wantStatus(t, r, http.StatusOK) {
				if !bytes.Equal(r.Body, raw) {
					t.Errorf("%s: manifest bytes differ from what was pushed", r.Request)
				}
				if got := r.Header.Get("Docker-Content-Digest"); got != want.String() {
					t.Errorf("%s: Docker-Content-Digest %q, want %q", r.Request, got, want)
				}
				if got := r.Header.Get("Content-Type"); got != string(mt) {
					t.Errorf("%s: Content-Type %q, want %q", r.Request, got, mt)
				}
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range layers {
				d := mustDigest(t, l)
				size, _ := l.Size()
				r := s.do(t, http.MethodHead, "/v2/e2e/images/blobs/"+d.String(), nil)
				if wantStatus(t, r, http.StatusOK) {
					if got := r.Header.Get("Content-Length"); got != strconv.FormatInt(size, 10) {
						t.Errorf("%s: Content-Length %s, want %d", r.Request, got, size)
					}
					if got := r.Header.Get("Docker-Content-Digest"); got != d.String() {
						t.Errorf("%s: Docker-Content-Digest %q, want %q", r.Request, got, d)
					}
				}
			}
		})
	}
}

func TestPushPullIndex(t *testing.T) {
	s := startServer(t)
	idx, err := random.Index(64<<10, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := mustDigest(t, idx)
	tag := ref(t, s, "e2e/multiarch:latest")
	if err := remote.WriteIndex(tag, idx, s.remoteOpts(t)...); err != nil {
		t.Fatalf("push index: %v", err)
	}
	pulled, err := remote.Index(tag, s.remoteOpts(t)...)
	if err != nil {
		t.Fatalf("pull index: %v", err)
	}
	if got := mustDigest(t, pulled); got != want {
		t.Errorf("index digest %s, want %s", got, want)
	}
	if err := verifyIndex(pulled); err != nil {
		t.Errorf("pulled index: %v", err)
	}
	r := s.do(t, http.MethodHead, "/v2/e2e/multiarch/manifests/latest", nil,
		"Accept", string(types.OCIImageIndex)+", "+string(types.OCIManifestSchema1))
	if wantStatus(t, r, http.StatusOK) {
		if got := r.Header.Get("Content-Type"); got != string(types.OCIImageIndex) {
			t.Errorf("%s: Content-Type %q, want %q", r.Request, got, types.OCIImageIndex)
		}
		if got := r.Header.Get("Docker-Content-Digest"); got != want.String() {
			t.Errorf("%s: Docker-Content-Digest %q, want %s", r.Request, got, want)
		}
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		r := s.do(t, http.MethodGet, "/v2/e2e/multiarch/manifests/"+m.Digest.String(), nil, "Accept", string(m.MediaType))
		wantStatus(t, r, http.StatusOK)
	}
}

// TestChunkedUpload drives the chunked upload protocol by hand: POST, several
// PATCHes with Content-Range, a status GET, and a PUT carrying the last chunk.
func TestChunkedUpload(t *testing.T) {
	s := startServer(t)
	const repo = "e2e/chunked"
	data := randomBytes(t, 5<<20+123)
	d := digest.FromBytes(data)
	loc := startUpload(t, s, repo)

	chunks := []int{1 << 20, 2<<20 + 7, 1 << 20}
	off := 0
	for _, n := range chunks {
		chunk := data[off : off+n]
		r := s.do(t, http.MethodPatch, loc, chunk,
			"Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
		if !wantStatus(t, r, http.StatusAccepted) {
			t.FailNow()
		}
		off += n
		if got, want := r.Header.Get("Range"), fmt.Sprintf("0-%d", off-1); got != want {
			t.Errorf("%s: Range %q, want %q", r.Request, got, want)
		}
		loc = location(t, r)

		st := s.do(t, http.MethodGet, loc, nil)
		if wantStatus(t, st, http.StatusNoContent) {
			if got, want := st.Header.Get("Range"), fmt.Sprintf("0-%d", off-1); got != want {
				t.Errorf("%s: Range %q, want %q", st.Request, got, want)
			}
		}
	}
	// A streamed PATCH (no Content-Range) appends at the current offset too.
	r := s.do(t, http.MethodPatch, loc, data[off:off+1000], "Content-Type", "application/octet-stream")
	if !wantStatus(t, r, http.StatusAccepted) {
		t.FailNow()
	}
	off += 1000
	loc = location(t, r)

	r = s.do(t, http.MethodPut, withQuery(t, loc, "digest", d.String()), data[off:],
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", off, len(data)-1))
	if !wantStatus(t, r, http.StatusCreated) {
		t.FailNow()
	}
	if got := r.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("%s: Docker-Content-Digest %q, want %s", r.Request, got, d)
	}
	if got := location(t, r); !strings.HasSuffix(got, "/v2/"+repo+"/blobs/"+d.String()) {
		t.Errorf("%s: Location %q, want .../v2/%s/blobs/%s", r.Request, got, repo, d)
	}
	g := s.do(t, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil)
	if wantStatus(t, g, http.StatusOK) && !bytes.Equal(g.Body, data) {
		t.Errorf("%s: content differs from the chunks uploaded", g.Request)
	}
	// The finished session is gone.
	wantError(t, s.do(t, http.MethodGet, loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

// TestCrossRepoMount checks that a blob present in one repository is mounted
// into another without its bytes being sent again, once the BLOB_MOUNTING
// account setting allows it, and not before.
func TestCrossRepoMount(t *testing.T) {
	s := startServer(t)
	img := randomImage(t, 512<<10, 3)
	src := ref(t, s, "e2e/mount-src:v1")
	if err := remote.Write(src, img, s.remoteOpts(t)...); err != nil {
		t.Fatalf("push source: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}

	// Like ECR, berth does not mount until BLOB_MOUNTING is ENABLED: the
	// POST falls back to a plain upload session and links nothing.
	d0 := mustDigest(t, layers[0]).String()
	r := s.do(t, http.MethodPost, "/v2/e2e/mount-off/blobs/uploads/?mount="+d0+"&from=e2e/mount-src", nil)
	if wantStatus(t, r, http.StatusAccepted) {
		wantStatus(t, s.do(t, http.MethodDelete, location(t, r), nil), http.StatusNoContent)
	}
	wantStatus(t, s.do(t, http.MethodHead, "/v2/e2e/mount-off/blobs/"+d0, nil), http.StatusNotFound)
	if err := s.setAccountSetting(t.Context(), "BLOB_MOUNTING", "ENABLED"); err != nil {
		t.Fatal(err)
	}

	t.Run("by hand", func(t *testing.T) {
		d := mustDigest(t, layers[0]).String()
		r := s.do(t, http.MethodPost, "/v2/e2e/mount-dst/blobs/uploads/?mount="+d+"&from=e2e/mount-src", nil)
		if !wantStatus(t, r, http.StatusCreated) {
			return
		}
		if got := r.Header.Get("Docker-Content-Digest"); got != d {
			t.Errorf("%s: Docker-Content-Digest %q, want %s", r.Request, got, d)
		}
		if got := location(t, r); !strings.HasSuffix(got, "/v2/e2e/mount-dst/blobs/"+d) {
			t.Errorf("%s: Location %q, want .../v2/e2e/mount-dst/blobs/%s", r.Request, got, d)
		}
		wantStatus(t, s.do(t, http.MethodHead, "/v2/e2e/mount-dst/blobs/"+d, nil), http.StatusOK)
	})

	t.Run("from a repository without the blob", func(t *testing.T) {
		// The spec's fallback: no mount, a regular upload session (202).
		d := digest.FromBytes(randomBytes(t, 64)).String()
		r := s.do(t, http.MethodPost, "/v2/e2e/mount-dst/blobs/uploads/?mount="+d+"&from=e2e/mount-src", nil)
		if wantStatus(t, r, http.StatusAccepted) {
			wantStatus(t, s.do(t, http.MethodDelete, location(t, r), nil), http.StatusNoContent)
		}
		wantError(t, s.do(t, http.MethodGet, "/v2/e2e/mount-dst/blobs/"+d, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	})

	t.Run("go-containerregistry copy", func(t *testing.T) {
		// Copying a remote image between repositories of one registry makes
		// go-containerregistry mount every layer.
		srcImg, err := remote.Image(src, s.remoteOpts(t)...)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		dst := ref(t, s, "e2e/mount-copy:v1")
		if err := remote.Write(dst, srcImg, s.remoteOpts(t, remote.WithTransport(rec))...); err != nil {
			t.Fatalf("copy: %v", err)
		}
		mounted := 0
		for _, e := range rec.exchanges() {
			switch {
			case e.Method == http.MethodPatch:
				t.Errorf("blob bytes were uploaded (PATCH %s) instead of mounted", e.URL.Path)
			case e.Method == http.MethodPost && e.URL.Query().Get("mount") != "":
				if e.Status != http.StatusCreated {
					t.Errorf("POST %s -> %d, want 201 (mounted)", e.URL.RequestURI(), e.Status)
				}
				mounted++
			}
		}
		// Layers and config: everything but the manifest is a blob.
		if want := len(layers) + 1; mounted != want {
			t.Errorf("%d mounts, want %d; exchanges:\n%s", mounted, want, rec)
		}
		pulled, err := remote.Image(dst, s.remoteOpts(t)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyImage(pulled); err != nil {
			t.Errorf("mounted copy: %v", err)
		}
	})
}

// TestReferrers pushes artifacts whose subject is an image and lists them with
// the referrers API, by hand and with go-containerregistry.
func TestReferrers(t *testing.T) {
	s := startServer(t)
	const repo = "e2e/referrers"
	img := randomOCIImage(t, 1024, 1)
	subjectRef := ref(t, s, repo+":subject")
	if err := remote.Write(subjectRef, img, s.remoteOpts(t)...); err != nil {
		t.Fatal(err)
	}
	subject := mustDigest(t, img)
	subjectSize, _ := img.Size()
	subjectDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(subject.String()), Size: subjectSize}

	emptyConfig := pushBlob(t, s, repo, []byte("{}"))
	type artifact struct {
		artifactType string
		digest       digest.Digest
	}
	var artifacts []artifact
	for i, at := range []string{"application/vnd.example.sbom", "application/vnd.example.signature"} {
		layer := pushBlob(t, s, repo, []byte(fmt.Sprintf("artifact %d", i)))
		m := ocispec.Manifest{
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: at,
			Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: emptyConfig, Size: 2},
			Layers:       []ocispec.Descriptor{{MediaType: "application/octet-stream", Digest: layer, Size: int64(len(fmt.Sprintf("artifact %d", i)))}},
			Subject:      &subjectDesc,
			Annotations:  map[string]string{"org.example.index": strconv.Itoa(i)},
		}
		m.SchemaVersion = 2
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		d := digest.FromBytes(body)
		r := pushManifest(t, s, repo, d.String(), ocispec.MediaTypeImageManifest, body)
		if !wantStatus(t, r, http.StatusCreated) {
			t.FailNow()
		}
		if got := r.Header.Get("OCI-Subject"); got != subject.String() {
			t.Errorf("%s: OCI-Subject %q, want %s", r.Request, got, subject)
		}
		artifacts = append(artifacts, artifact{at, d})
	}

	r := s.do(t, http.MethodGet, "/v2/"+repo+"/referrers/"+subject.String(), nil)
	if wantStatus(t, r, http.StatusOK) {
		if ct := r.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageIndex {
			t.Errorf("%s: Content-Type %q, want %s", r.Request, ct, ocispec.MediaTypeImageIndex)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(r.Body, &idx); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		got := map[digest.Digest]ocispec.Descriptor{}
		for _, m := range idx.Manifests {
			got[m.Digest] = m
		}
		if len(got) != len(artifacts) {
			t.Errorf("%s: %d referrers, want %d", r, len(got), len(artifacts))
		}
		for i, a := range artifacts {
			m, ok := got[a.digest]
			if !ok {
				t.Errorf("%s: referrer %s missing", r.Request, a.digest)
				continue
			}
			if m.ArtifactType != a.artifactType {
				t.Errorf("referrer %s: artifactType %q, want %q", a.digest, m.ArtifactType, a.artifactType)
			}
			if m.Annotations["org.example.index"] != strconv.Itoa(i) {
				t.Errorf("referrer %s: annotations %v, want org.example.index=%d", a.digest, m.Annotations, i)
			}
		}
	}

	// Filtering by artifactType, which the response must say it applied.
	r = s.do(t, http.MethodGet, "/v2/"+repo+"/referrers/"+subject.String()+"?artifactType="+url.QueryEscape(artifacts[1].artifactType), nil)
	if wantStatus(t, r, http.StatusOK) {
		var idx ocispec.Index
		if err := json.Unmarshal(r.Body, &idx); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != artifacts[1].digest {
			t.Errorf("%s: want only %s", r, artifacts[1].digest)
		}
		if got := r.Header.Get("OCI-Filters-Applied"); got != "artifactType" {
			t.Errorf("%s: OCI-Filters-Applied %q, want artifactType", r.Request, got)
		}
	}

	// A digest nothing refers to has an empty list, not a 404.
	none := digest.FromBytes(randomBytes(t, 32))
	r = s.do(t, http.MethodGet, "/v2/"+repo+"/referrers/"+none.String(), nil)
	if wantStatus(t, r, http.StatusOK) {
		var idx ocispec.Index
		if err := json.Unmarshal(r.Body, &idx); err != nil || len(idx.Manifests) != 0 || idx.MediaType != ocispec.MediaTypeImageIndex {
			t.Errorf("%s: want an empty image index (err %v)", r, err)
		}
	}

	// go-containerregistry: push an image with a subject, then list referrers.
	withSubject := mutate.Subject(randomOCIImage(t, 512, 1), v1.Descriptor{
		MediaType: types.OCIManifestSchema1, Digest: subject, Size: subjectSize,
	}).(v1.Image)
	if err := remote.Write(ref(t, s, repo+"@"+mustDigest(t, withSubject).String()), withSubject, s.remoteOpts(t)...); err != nil {
		t.Fatalf("push image with subject: %v", err)
	}
	got, err := remote.Referrers(subjectRef.Context().Digest(subject.String()), s.remoteOpts(t)...)
	if err != nil {
		t.Fatalf("remote.Referrers: %v", err)
	}
	im, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 3 {
		t.Errorf("remote.Referrers: %d manifests, want 3: %+v", len(im.Manifests), im.Manifests)
	}
	// Berth supports the referrers API, so clients must not fall back to the
	// sha256-<hex> tag scheme.
	tags, err := remote.List(subjectRef.Context(), s.remoteOpts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if strings.HasPrefix(tag, "sha256-") {
			t.Errorf("client fell back to the referrers tag scheme: tag %q exists", tag)
		}
	}
}

var linkNext = regexp.MustCompile(`^<([^>]+)>;\s*rel="next"$`)

// TestTagListPagination lists tags page by page with n/last and the Link header.
func TestTagListPagination(t *testing.T) {
	s := startServer(t)
	const repo = "e2e/tags"
	img := randomImage(t, 256, 1)
	tags := []string{"latest", "v1.0.0", "v1.0.1", "V2", "0", "a_b", "a-b", "a.b", "z", "release-2024"}
	if err := remote.Write(ref(t, s, repo+":"+tags[0]), img, s.remoteOpts(t)...); err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags[1:] {
		if err := remote.Tag(tagRef(t, s, repo+":"+tag), img, s.remoteOpts(t)...); err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
	}
	want := slices.Clone(tags)
	slices.Sort(want)

	for _, n := range []int{1, 3, 4, len(tags), len(tags) + 5} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var got []string
			next := fmt.Sprintf("/v2/%s/tags/list?n=%d", repo, n)
			for pages := 0; next != ""; pages++ {
				if pages > len(tags)+1 {
					t.Fatalf("pagination does not end; got %v so far", got)
				}
				r := s.do(t, http.MethodGet, next, nil)
				if !wantStatus(t, r, http.StatusOK) {
					t.FailNow()
				}
				var page struct {
					Name string   `json:"name"`
					Tags []string `json:"tags"`
				}
				if err := json.Unmarshal(r.Body, &page); err != nil {
					t.Fatalf("%s: %v", r, err)
				}
				if page.Name != repo {
					t.Errorf("%s: name %q, want %q", r.Request, page.Name, repo)
				}
				if len(page.Tags) > n {
					t.Errorf("%s: %d tags, more than n=%d", r.Request, len(page.Tags), n)
				}
				got = append(got, page.Tags...)
				next = ""
				if link := r.Header.Get("Link"); link != "" {
					m := linkNext.FindStringSubmatch(link)
					if m == nil {
						t.Fatalf("%s: malformed Link header %q", r.Request, link)
					}
					next = m[1]
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("paginated tags %v, want %v", got, want)
			}
		})
	}

	r := s.do(t, http.MethodGet, "/v2/"+repo+"/tags/list?last=v1.0.0", nil)
	if wantStatus(t, r, http.StatusOK) {
		var page struct{ Tags []string }
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		i := slices.Index(want, "v1.0.0")
		if !slices.Equal(page.Tags, want[i+1:]) {
			t.Errorf("%s: tags %v, want %v", r.Request, page.Tags, want[i+1:])
		}
	}

	// go-containerregistry follows the Link header itself.
	listed, err := remote.List(repoRef(t, s, repo), s.remoteOpts(t, remote.WithPageSize(2))...)
	if err != nil {
		t.Fatalf("remote.List: %v", err)
	}
	if !slices.Equal(listed, want) {
		t.Errorf("remote.List: %v, want %v", listed, want)
	}
}

func TestCatalog(t *testing.T) {
	s := startServer(t)
	img := randomImage(t, 256, 1)
	repos := []string{"e2e/c", "e2e/a", "e2e/b/nested", "other"}
	for _, r := range repos {
		if err := remote.Write(ref(t, s, r+":v1"), img, s.remoteOpts(t)...); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(repos)
	slices.Sort(want)
	var got []string
	next := "/v2/_catalog?n=2"
	for pages := 0; next != ""; pages++ {
		if pages > len(repos)+1 {
			t.Fatalf("pagination does not end; got %v so far", got)
		}
		r := s.do(t, http.MethodGet, next, nil)
		if !wantStatus(t, r, http.StatusOK) {
			t.FailNow()
		}
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		got = append(got, page.Repositories...)
		next = ""
		if link := r.Header.Get("Link"); link != "" {
			m := linkNext.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("%s: malformed Link header %q", r.Request, link)
			}
			next = m[1]
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalog %v, want %v", got, want)
	}
}

func TestDeletes(t *testing.T) {
	s := startServer(t)
	const repo = "e2e/deletes"
	img := randomImage(t, 4096, 2)
	d := mustDigest(t, img).String()
	for _, tag := range []string{"a", "b"} {
		if err := remote.Write(ref(t, s, repo+":"+tag), img, s.remoteOpts(t)...); err != nil {
			t.Fatal(err)
		}
	}
	accept := string(types.OCIManifestSchema1) + ", " + string(types.DockerManifestSchema2)
	get := func(reference string) response {
		return s.do(t, http.MethodGet, "/v2/"+repo+"/manifests/"+reference, nil, "Accept", accept)
	}

	// Deleting a tag removes only the tag.
	wantStatus(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/manifests/a", nil), http.StatusAccepted)
	wantError(t, get("a"), http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantStatus(t, get("b"), http.StatusOK)
	wantStatus(t, get(d), http.StatusOK)
	wantError(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/manifests/a", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")

	// Deleting by digest removes the manifest and every tag pointing at it.
	wantStatus(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/manifests/"+d, nil), http.StatusAccepted)
	wantError(t, get(d), http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantError(t, get("b"), http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/"+d, nil), http.StatusNotFound)
	wantError(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/manifests/"+d, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	r := s.do(t, http.MethodGet, "/v2/"+repo+"/tags/list", nil)
	if wantStatus(t, r, http.StatusOK) {
		var page struct{ Tags []string }
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Tags) != 0 {
			t.Errorf("%s: tags %v remain after their manifest was deleted", r.Request, page.Tags)
		}
	}

	// Deleting a blob unlinks it from the repository.
	layers, _ := img.Layers()
	ld := mustDigest(t, layers[0]).String()
	wantStatus(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/blobs/"+ld, nil), http.StatusAccepted)
	wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/blobs/"+ld, nil), http.StatusNotFound)
	wantError(t, s.do(t, http.MethodGet, "/v2/"+repo+"/blobs/"+ld, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	wantError(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/blobs/"+ld, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	// The other layer is untouched.
	ld2 := mustDigest(t, layers[1]).String()
	wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/blobs/"+ld2, nil), http.StatusOK)
}

// TestLocalhostAlias pushes and pulls through "localhost:PORT", the name
// people type for a local registry, while berth listens on 127.0.0.1 without
// --public-url. Upload Locations must keep working for that host.
func TestLocalhostAlias(t *testing.T) {
	s := startServer(t)
	_, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference("localhost:"+port+"/e2e/alias:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := randomImage(t, 1024, 2)
	if err := remote.Write(r, img, s.remoteOpts(t)...); err != nil {
		t.Fatalf("push %s: %v", r, err)
	}
	pulled, err := remote.Image(r, s.remoteOpts(t)...)
	if err != nil {
		t.Fatalf("pull %s: %v", r, err)
	}
	if got, want := mustDigest(t, pulled), mustDigest(t, img); got != want {
		t.Errorf("pull %s: digest %s, want %s", r, got, want)
	}
	if err := verifyImage(pulled); err != nil {
		t.Errorf("pull %s: %v", r, err)
	}
}
