package oci

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/registry"
)

// maxPage bounds one page of the tag list and the catalog; clients follow
// the Link header for more.
const maxPage = 1000

// manifest serves GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference>.
func (h *handler) manifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	switch r.Method {
	case http.MethodPut:
		h.putManifest(w, r, name, ref)
	case http.MethodDelete:
		if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionDelete}}) {
			return
		}
		if err := h.core.DeleteManifest(r.Context(), name, ref); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		h.getManifest(w, r, name, ref)
	}
}

// getManifest is the hot pull path: one core lookup and one Write of the
// stored bytes.
func (h *handler) getManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	caller, ok := h.authorizeCaller(w, r, Access{Repository: name, Actions: []string{ActionPull}})
	if !ok {
		return
	}
	m, err := h.core.GetManifest(r.Context(), name, ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// One backing array for the header values, and keys already in
	// canonical form: the hot path allocates little for its headers.
	vals := [...]string{string(m.Digest), `"` + string(m.Digest) + `"`, m.MediaType, strconv.Itoa(len(m.Content))}
	hd := w.Header()
	hd["Docker-Content-Digest"] = vals[0:1:1]
	hd["Etag"] = vals[1:2:2]
	if etagMatches(r.Header.Get("If-None-Match"), vals[1]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd["Content-Type"] = vals[2:3:3]
	hd["Content-Length"] = vals[3:4:4]
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		// ECR's lastRecordedPullTime counts manifest GETs, not HEADs.
		h.core.RecordPullBy(name, m.Digest, caller.PrincipalARN)
		_, _ = w.Write(m.Content)
	}
}

// etagMatches reports whether an If-None-Match header lists etag (or "*").
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}

func (h *handler) putManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionPush}}) {
		return
	}
	content, err := h.readManifest(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tags := r.URL.Query()["tag"]
	res, err := h.core.PutManifest(r.Context(), name, ref, r.Header.Get("Content-Type"), content, tags)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Location", h.location("/v2/"+name+"/manifests/"+res.Digest.String()))
	hd.Set("Docker-Content-Digest", res.Digest.String())
	if res.Subject != "" {
		hd.Set("OCI-Subject", res.Subject.String())
	}
	var seen []string
	for _, t := range tags {
		if !slices.Contains(seen, t) {
			seen = append(seen, t)
			hd.Add("OCI-Tag", t)
		}
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// readManifest reads a manifest body, bounded so an oversized one costs no
// more than the limit in memory.
func (h *handler) readManifest(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxManifest {
		return nil, h.tooLarge()
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxManifest))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, h.tooLarge()
	case err != nil:
		return nil, &registry.Error{Kind: registry.KindManifestInvalid, Message: "failed to read the manifest body", Err: err}
	}
	return buf.Bytes(), nil
}

func (h *handler) tooLarge() error {
	return registry.Errorf(registry.KindManifestTooLarge, "manifest exceeds the maximum size of %d bytes", h.maxManifest)
}

// tags serves GET /v2/<name>/tags/list?n=&last=.
func (h *handler) tags(w http.ResponseWriter, r *http.Request, name string) {
	if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionPull}}) {
		return
	}
	q := r.URL.Query()
	n, err := pageSize(q.Get("n"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	last := q.Get("last")
	// One extra entry tells whether another page follows. With n=0 the core
	// still checks the repository exists.
	fetch := n + 1
	if n == 0 {
		fetch = 0
	}
	tags, err := h.core.ListTags(r.Context(), name, last, fetch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, page(w, "/v2/"+name+"/tags/list", tags, n)})
}

// catalog serves GET /v2/_catalog?n=&last=.
func (h *handler) catalog(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r, Access{Actions: []string{ActionCatalog}}) {
		return
	}
	q := r.URL.Query()
	n, err := pageSize(q.Get("n"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var repos []string
	if n > 0 {
		if repos, err = h.core.Catalog(r.Context(), q.Get("last"), n+1); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.writeJSON(w, r, http.StatusOK, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{page(w, "/v2/_catalog", repos, n)})
}

// pageSize parses the n query parameter: absent means a full page, larger
// values are capped (the Link header leads on).
func pageSize(s string) (int, error) {
	if s == "" {
		return maxPage, nil
	}
	n, err := parseOffset(s)
	if err != nil {
		return 0, registry.Errorf(registry.KindInvalidParameter, "invalid n parameter %s: must be a non-negative integer", strconv.Quote(truncate(s)))
	}
	return int(min(n, maxPage)), nil
}

// page cuts a listing fetched one entry past a page of n down to the page,
// links the next page when that entry shows there is one, and renders an
// empty listing as [] rather than null.
func page(w http.ResponseWriter, path string, items []string, n int) []string {
	if n > 0 && len(items) > n {
		items = items[:n]
		v := url.Values{}
		v.Set("n", strconv.Itoa(n))
		v.Set("last", items[n-1])
		w.Header().Set("Link", "<"+path+"?"+v.Encode()+`>; rel="next"`)
	}
	if items == nil {
		items = []string{}
	}
	return items
}

// referrers serves GET /v2/<name>/referrers/<digest>[?artifactType=].
func (h *handler) referrers(w http.ResponseWriter, r *http.Request, name, ref string) {
	if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionPull}}) {
		return
	}
	dgst, err := registry.ParseDigest(ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	artifactType := r.URL.Query().Get("artifactType")
	descs, err := h.core.ListReferrers(r.Context(), name, dgst, artifactType)
	if err != nil && registry.KindOf(err) != registry.KindNameUnknown {
		h.fail(w, r, err)
		return
	}
	// Nothing refers to anything in a repository that does not exist yet: the
	// spec wants an empty index for an unknown subject, never a 404.
	if descs == nil {
		descs = []ocispec.Descriptor{}
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	h.writeJSON(w, r, http.StatusOK, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: descs,
	})
}
