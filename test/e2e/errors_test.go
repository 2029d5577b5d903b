package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Where the OCI spec leaves the status or code open, berth's choice is pinned
// here (it matches internal/oci's error table), so a deliberate change to the
// wire contract is a one-line change.
const (
	// maxManifestSize is the largest manifest berth accepts (4 MiB).
	maxManifestSize = 4 << 20
	// A manifest over maxManifestSize. The spec: "SHOULD respond ... with a
	// response code 413 Payload Too Large"; it names no code.
	statusManifestTooLarge = http.StatusRequestEntityTooLarge
	codeManifestTooLarge   = "MANIFEST_INVALID"
	// A manifest media type berth does not store, such as Docker schema 1.
	statusUnsupported = http.StatusBadRequest
	codeUnsupported   = "UNSUPPORTED"
	// A tag that breaks the tag grammar: Docker distribution's and ECR's code.
	codeTagInvalid = "TAG_INVALID"
)

// imageManifest builds an OCI image manifest over the given blobs.
func imageManifest(t testing.TB, config ocispec.Descriptor, layers ...ocispec.Descriptor) []byte {
	t.Helper()
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: layers}
	m.SchemaVersion = 2
	if m.Layers == nil {
		m.Layers = []ocispec.Descriptor{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blobDesc(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// TestErrors drives every error path of the OCI distribution spec and checks
// the exact status and error code.
func TestErrors(t *testing.T) {
	s := startServer(t)
	const repo = "e2e/errors"

	// A valid image to build on: config and one layer pushed, manifest tagged v1.
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := randomBytes(t, 4096)
	pushBlob(t, s, repo, config)
	pushBlob(t, s, repo, layer)
	configDesc := blobDesc(ocispec.MediaTypeImageConfig, config)
	layerDesc := blobDesc(ocispec.MediaTypeImageLayer, layer)
	manifest := imageManifest(t, configDesc, layerDesc)
	if r := pushManifest(t, s, repo, "v1", ocispec.MediaTypeImageManifest, manifest); !wantStatus(t, r, http.StatusCreated) {
		t.FailNow()
	}
	unknown := digest.FromBytes(randomBytes(t, 32)).String()
	bogusUpload := "/v2/" + repo + "/blobs/uploads/00000000-0000-4000-8000-000000000000"

	t.Run("BLOB_UNKNOWN", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodGet, "/v2/"+repo+"/blobs/"+unknown, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		wantError(t, s.do(t, http.MethodHead, "/v2/"+repo+"/blobs/"+unknown, nil), http.StatusNotFound, "")
		wantError(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/blobs/"+unknown, nil), http.StatusNotFound, "BLOB_UNKNOWN")
		// A blob is visible only in repositories it was pushed or mounted into.
		other := pushBlob(t, s, "e2e/errors-other", randomBytes(t, 100))
		wantError(t, s.do(t, http.MethodGet, "/v2/"+repo+"/blobs/"+other.String(), nil), http.StatusNotFound, "BLOB_UNKNOWN")
		wantError(t, s.do(t, http.MethodHead, "/v2/"+repo+"/blobs/"+other.String(), nil), http.StatusNotFound, "")
	})

	t.Run("BLOB_UPLOAD_UNKNOWN", func(t *testing.T) {
		d := digest.FromBytes([]byte("x")).String()
		wantError(t, s.do(t, http.MethodGet, bogusUpload, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		wantError(t, s.do(t, http.MethodPatch, bogusUpload, []byte("x"), "Content-Type", "application/octet-stream"), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		wantError(t, s.do(t, http.MethodPut, bogusUpload+"?digest="+d, []byte("x"), "Content-Type", "application/octet-stream"), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		wantError(t, s.do(t, http.MethodDelete, bogusUpload, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

		// A session belongs to the repository it was opened in.
		loc := startUpload(t, s, repo)
		id := loc[strings.LastIndex(loc, "/")+1:]
		if i := strings.IndexByte(id, '?'); i >= 0 {
			id = id[:i]
		}
		wantError(t, s.do(t, http.MethodGet, "/v2/e2e/errors-other/blobs/uploads/"+id, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

		// A cancelled session is gone.
		wantStatus(t, s.do(t, http.MethodDelete, loc, nil), http.StatusNoContent)
		wantError(t, s.do(t, http.MethodGet, loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		wantError(t, s.do(t, http.MethodPatch, loc, []byte("x"), "Content-Type", "application/octet-stream"), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	})

	t.Run("BLOB_UPLOAD_INVALID out-of-order chunk is 416", func(t *testing.T) {
		loc := startUpload(t, s, repo)
		data := randomBytes(t, 30)
		r := s.do(t, http.MethodPatch, loc, data[:10], "Content-Type", "application/octet-stream", "Content-Range", "0-9")
		if !wantStatus(t, r, http.StatusAccepted) {
			t.FailNow()
		}
		loc = location(t, r)
		// A gap, an overlap, and a restart from zero are all out of order.
		for _, rng := range []string{"20-29", "5-14", "0-9"} {
			var a, b int
			fmt.Sscanf(rng, "%d-%d", &a, &b)
			r := s.do(t, http.MethodPatch, loc, data[a:b+1], "Content-Type", "application/octet-stream", "Content-Range", rng)
			wantError(t, r, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		}
		// A final chunk out of order is refused the same way.
		r = s.do(t, http.MethodPut, withQuery(t, loc, "digest", digest.FromBytes(data).String()), data[20:],
			"Content-Type", "application/octet-stream", "Content-Range", "20-29")
		wantError(t, r, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		// The refused chunks changed nothing: the session resumes at offset 10.
		st := s.do(t, http.MethodGet, loc, nil)
		if wantStatus(t, st, http.StatusNoContent) && st.Header.Get("Range") != "0-9" {
			t.Errorf("%s: Range %q after refused chunks, want 0-9", st.Request, st.Header.Get("Range"))
		}
		r = s.do(t, http.MethodPut, withQuery(t, loc, "digest", digest.FromBytes(data).String()), data[10:],
			"Content-Type", "application/octet-stream", "Content-Range", "10-29")
		wantStatus(t, r, http.StatusCreated)
	})

	t.Run("BLOB_UPLOAD_INVALID malformed Content-Range", func(t *testing.T) {
		loc := startUpload(t, s, repo)
		for _, rng := range []string{"bytes", "a-b", "9-0", "-1-5", "0-9/5"} {
			r := s.do(t, http.MethodPatch, loc, []byte("0123456789"), "Content-Type", "application/octet-stream", "Content-Range", rng)
			wantError(t, r, http.StatusBadRequest, "BLOB_UPLOAD_INVALID")
		}
		// None of them appended anything.
		st := s.do(t, http.MethodGet, loc, nil)
		if wantStatus(t, st, http.StatusNoContent) && st.Header.Get("Range") != "0-0" && st.Header.Get("Range") != "" {
			t.Errorf("%s: Range %q after refused chunks, want an empty upload", st.Request, st.Header.Get("Range"))
		}
	})

	t.Run("SIZE_INVALID", func(t *testing.T) {
		// The Content-Range claims more bytes than the body carries.
		loc := startUpload(t, s, repo)
		r := s.do(t, http.MethodPatch, loc, []byte("0123456789"), "Content-Type", "application/octet-stream", "Content-Range", "0-19")
		wantError(t, r, http.StatusBadRequest, "SIZE_INVALID")
	})

	t.Run("DIGEST_INVALID leaves nothing behind", func(t *testing.T) {
		data := randomBytes(t, 1000)
		actual := digest.FromBytes(data).String()
		wrong := digest.FromBytes(append([]byte("not "), data...)).String()

		// Chunked: the PUT names a digest the content does not have.
		loc := startUpload(t, s, repo)
		r := s.do(t, http.MethodPatch, loc, data, "Content-Type", "application/octet-stream")
		if !wantStatus(t, r, http.StatusAccepted) {
			t.FailNow()
		}
		r = s.do(t, http.MethodPut, withQuery(t, location(t, r), "digest", wrong), nil)
		wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")

		// Monolithic: POST with ?digest= and the content.
		r = s.do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+wrong, data, "Content-Type", "application/octet-stream")
		wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")

		// Single PUT after POST.
		r = s.do(t, http.MethodPut, withQuery(t, startUpload(t, s, repo), "digest", wrong), data, "Content-Type", "application/octet-stream")
		wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")

		for _, d := range []string{actual, wrong} {
			wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/blobs/"+d, nil), http.StatusNotFound)
		}
	})

	t.Run("DIGEST_INVALID malformed or missing digest", func(t *testing.T) {
		for _, d := range []string{"sha256:xyz", "sha256:" + strings.Repeat("a", 63), "nosuchalgo:abcd", "sha256"} {
			r := s.do(t, http.MethodPut, withQuery(t, startUpload(t, s, repo), "digest", d), []byte("abc"),
				"Content-Type", "application/octet-stream")
			wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")
		}
		// No digest at all: a PUT must name the digest it commits.
		r := s.do(t, http.MethodPut, startUpload(t, s, repo), []byte("abc"), "Content-Type", "application/octet-stream")
		wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")
		// A manifest pushed by a digest that is not its own.
		r = pushManifest(t, s, repo, unknown, ocispec.MediaTypeImageManifest, manifest)
		wantError(t, r, http.StatusBadRequest, "DIGEST_INVALID")
	})

	t.Run("MANIFEST_BLOB_UNKNOWN", func(t *testing.T) {
		missing := blobDesc(ocispec.MediaTypeImageLayer, randomBytes(t, 64))
		r := pushManifest(t, s, repo, "missing-layer", ocispec.MediaTypeImageManifest, imageManifest(t, configDesc, layerDesc, missing))
		wantError(t, r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		missingConfig := blobDesc(ocispec.MediaTypeImageConfig, []byte(`{"missing":true}`))
		r = pushManifest(t, s, repo, "missing-config", ocispec.MediaTypeImageManifest, imageManifest(t, missingConfig, layerDesc))
		wantError(t, r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		// Blobs of another repository do not count.
		foreign := randomBytes(t, 77)
		pushBlob(t, s, "e2e/errors-other", foreign)
		r = pushManifest(t, s, repo, "foreign-layer", ocispec.MediaTypeImageManifest,
			imageManifest(t, configDesc, blobDesc(ocispec.MediaTypeImageLayer, foreign)))
		wantError(t, r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		// An index whose child manifest does not exist.
		idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{
			{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(unknown), Size: 500},
		}}
		idx.SchemaVersion = 2
		body, _ := json.Marshal(idx)
		r = pushManifest(t, s, repo, "missing-child", ocispec.MediaTypeImageIndex, body)
		wantError(t, r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		for _, tag := range []string{"missing-layer", "missing-config", "foreign-layer", "missing-child"} {
			wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/"+tag, nil), http.StatusNotFound)
		}
	})

	t.Run("MANIFEST_INVALID", func(t *testing.T) {
		cases := map[string]string{
			"not JSON":         "this is not json",
			"truncated":        string(manifest[:len(manifest)/2]),
			"no config":        `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`,
			"schemaVersion 3":  strings.Replace(string(manifest), `"schemaVersion":2`, `"schemaVersion":3`, 1),
			"bad layer digest": strings.Replace(string(manifest), layerDesc.Digest.String(), "sha256:nothex", 1),
			"mediaType differs from Content-Type": strings.Replace(string(manifest),
				`"mediaType":"application/vnd.oci.image.manifest.v1+json"`, `"mediaType":"application/vnd.oci.image.index.v1+json"`, 1),
		}
		for name, body := range cases {
			t.Run(name, func(t *testing.T) {
				r := pushManifest(t, s, repo, "invalid", ocispec.MediaTypeImageManifest, []byte(body))
				wantError(t, r, http.StatusBadRequest, "MANIFEST_INVALID")
			})
		}
		wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/invalid", nil), http.StatusNotFound)
	})

	t.Run("MANIFEST_UNKNOWN", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodGet, "/v2/"+repo+"/manifests/nosuchtag", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		wantError(t, s.do(t, http.MethodGet, "/v2/"+repo+"/manifests/"+unknown, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		wantError(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/nosuchtag", nil), http.StatusNotFound, "")
		wantError(t, s.do(t, http.MethodDelete, "/v2/"+repo+"/manifests/"+unknown, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	})

	t.Run("NAME_INVALID", func(t *testing.T) {
		names := map[string]string{
			"1 char":       "a",
			"257 chars":    strings.Repeat("a", 128) + "/" + strings.Repeat("b", 128),
			"uppercase":    "e2e/Upper",
			"leading dash": "e2e/-dash",
			"trailing dot": "e2e/dot.",
		}
		for what, name := range names {
			t.Run(what, func(t *testing.T) {
				wantError(t, s.do(t, http.MethodPost, "/v2/"+name+"/blobs/uploads/", nil), http.StatusBadRequest, "NAME_INVALID")
				r := pushManifest(t, s, name, "v1", ocispec.MediaTypeImageManifest, manifest)
				wantError(t, r, http.StatusBadRequest, "NAME_INVALID")
			})
		}
		// The boundaries are accepted: 2 and 256 characters.
		for _, name := range []string{"ab", strings.Repeat("a", 127) + "/" + strings.Repeat("b", 128)} {
			loc := startUpload(t, s, name)
			wantStatus(t, s.do(t, http.MethodDelete, loc, nil), http.StatusNoContent)
		}
	})

	t.Run("NAME_UNKNOWN", func(t *testing.T) {
		wantError(t, s.do(t, http.MethodGet, "/v2/e2e/nosuchrepo/tags/list", nil), http.StatusNotFound, "NAME_UNKNOWN")
		wantError(t, s.do(t, http.MethodGet, "/v2/e2e/nosuchrepo/manifests/latest", nil), http.StatusNotFound, "NAME_UNKNOWN")
		wantError(t, s.do(t, http.MethodGet, "/v2/e2e/nosuchrepo/blobs/"+unknown, nil), http.StatusNotFound, "NAME_UNKNOWN")
	})

	t.Run("UNSUPPORTED schema1", func(t *testing.T) {
		schema1 := `{"schemaVersion":1,"name":"` + repo + `","tag":"old","architecture":"amd64","fsLayers":[],"history":[],` +
			`"signatures":[{"header":{"alg":"ES256"},"signature":"x","protected":"e30"}]}`
		for _, mt := range []string{"application/vnd.docker.distribution.manifest.v1+prettyjws", "application/vnd.docker.distribution.manifest.v1+json"} {
			r := pushManifest(t, s, repo, "old", mt, []byte(schema1))
			wantError(t, r, statusUnsupported, codeUnsupported)
		}
		wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/old", nil), http.StatusNotFound)
	})

	t.Run("manifest over 4 MiB", func(t *testing.T) {
		r := pushManifest(t, s, repo, "huge", ocispec.MediaTypeImageManifest, paddedManifest(t, configDesc, layerDesc, maxManifestSize+1))
		wantError(t, r, statusManifestTooLarge, codeManifestTooLarge)
		wantStatus(t, s.do(t, http.MethodHead, "/v2/"+repo+"/manifests/huge", nil), http.StatusNotFound)
		// Exactly 4 MiB is accepted.
		r = pushManifest(t, s, repo, "max", ocispec.MediaTypeImageManifest, paddedManifest(t, configDesc, layerDesc, maxManifestSize))
		wantStatus(t, r, http.StatusCreated)
	})

	t.Run("tag grammar", func(t *testing.T) {
		for _, tag := range []string{strings.Repeat("t", 129), "-leading", ".leading", "has+plus"} {
			r := pushManifest(t, s, repo, tag, ocispec.MediaTypeImageManifest, manifest)
			wantError(t, r, http.StatusBadRequest, codeTagInvalid)
		}
		r := pushManifest(t, s, repo, strings.Repeat("t", 128), ocispec.MediaTypeImageManifest, manifest)
		wantStatus(t, r, http.StatusCreated)
		// The ?tag= parameter obeys the same grammar.
		d := digest.FromBytes(manifest).String()
		r = pushManifest(t, s, repo, d+"?tag="+strings.Repeat("t", 129), ocispec.MediaTypeImageManifest, manifest)
		wantError(t, r, http.StatusBadRequest, codeTagInvalid)
	})
}

// TestNameUnknownWithoutCreateOnPush checks that, without --create-on-push,
// pushing to a repository that does not exist is refused.
func TestNameUnknownWithoutCreateOnPush(t *testing.T) {
	s := startServer(t, withoutCreateOnPush())
	wantError(t, s.do(t, http.MethodPost, "/v2/e2e/absent/blobs/uploads/", nil), http.StatusNotFound, "NAME_UNKNOWN")
	config := []byte(`{}`)
	m := imageManifest(t, blobDesc(ocispec.MediaTypeImageConfig, config))
	wantError(t, pushManifest(t, s, "e2e/absent", "v1", ocispec.MediaTypeImageManifest, m), http.StatusNotFound, "NAME_UNKNOWN")
	r := s.do(t, http.MethodGet, "/v2/_catalog", nil)
	if wantStatus(t, r, http.StatusOK) {
		var c struct{ Repositories []string }
		if err := json.Unmarshal(r.Body, &c); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if len(c.Repositories) != 0 {
			t.Errorf("%s: repositories %v, want none", r.Request, c.Repositories)
		}
	}
}

// paddedManifest returns a valid image manifest of exactly size bytes,
// padded with an annotation.
func paddedManifest(t testing.TB, config, layer ocispec.Descriptor, size int) []byte {
	t.Helper()
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer},
		Annotations: map[string]string{"pad": ""}}
	m.SchemaVersion = 2
	base, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) > size {
		t.Fatalf("manifest base is %d bytes, over %d", len(base), size)
	}
	m.Annotations["pad"] = strings.Repeat("p", size-len(base))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != size {
		t.Fatalf("padded manifest is %d bytes, want %d", len(b), size)
	}
	return b
}
