package oci

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/registry"
)

// blob serves GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
func (h *handler) blob(w http.ResponseWriter, r *http.Request, name, ref string) {
	action := ActionPull
	if r.Method == http.MethodDelete {
		action = ActionDelete
	}
	if !h.allow(w, r, Access{Repository: name, Actions: []string{action}}) {
		return
	}
	dgst, err := registry.ParseDigest(ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodDelete:
		if err := h.core.DeleteBlob(ctx, name, dgst); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case http.MethodHead:
		info, err := h.core.StatBlob(ctx, name, dgst)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		setBlobHeaders(w, info.Digest)
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		w.WriteHeader(http.StatusOK)
	default:
		rc, info, err := h.core.OpenBlob(ctx, name, dgst)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer rc.Close()
		setBlobHeaders(w, info.Digest)
		// ServeContent handles Range/If-Range/If-None-Match (416 included)
		// and, given the store's *os.File and the server's ResponseWriter
		// untouched, copies with sendfile.
		http.ServeContent(w, r, "", time.Time{}, rc)
	}
}

func setBlobHeaders(w http.ResponseWriter, dgst digest.Digest) {
	hd := w.Header()
	hd.Set("Docker-Content-Digest", dgst.String())
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+dgst.String()+`"`)
	hd.Set("Accept-Ranges", "bytes")
}

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount, a monolithic upload (?digest=), or the start of a session.
func (h *handler) startUpload(w http.ResponseWriter, r *http.Request, name string) {
	if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionPush}}) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		dgst, err := registry.ParseDigest(mount)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if from, ok := h.mountSource(r, q.Get("from"), dgst); ok {
			info, err := h.core.MountBlob(ctx, name, from, dgst)
			if err == nil {
				h.blobCreated(w, name, info.Digest)
				return
			}
			switch registry.KindOf(err) {
			case registry.KindBlobUnknown, registry.KindNameUnknown, registry.KindNameInvalid:
				// Nothing to mount (or no such source): the spec says fall
				// back to an ordinary upload session. A problem with the
				// target repository resurfaces from StartUpload.
			default:
				h.fail(w, r, err)
				return
			}
		}
	} else if d := q.Get("digest"); d != "" {
		dgst, err := registry.ParseDigest(d)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		info, err := h.core.PutBlob(ctx, name, dgst, r.Body)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.blobCreated(w, name, info.Digest)
		return
	}
	// The digest-algorithm hint is ignored: the core hashes with sha256 while
	// streaming and re-reads once when the final digest uses another algorithm.
	st, err := h.core.StartUpload(ctx, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.uploadAccepted(w, name, st, http.StatusAccepted)
}

// maxMountCandidates bounds how many repositories holding a blob are tried
// as the source of an anonymous mount.
const maxMountCandidates = 20

// mountSource picks the repository a mount reads from, and reports whether a
// mount may be attempted at all: the caller needs pull on the source. For an
// anonymous mount (no from) under access control, that is the first
// repository holding the blob that the caller may pull from, so a mount never
// reveals bytes the caller could not download anyway.
func (h *handler) mountSource(r *http.Request, from string, dgst digest.Digest) (string, bool) {
	if h.authorize == nil {
		return from, true
	}
	if from != "" {
		_, err := h.authorize(r, Access{Repository: from, Actions: []string{ActionPull}, MountSource: true})
		return from, err == nil
	}
	candidates, err := h.core.BlobRepositories(r.Context(), dgst, maxMountCandidates)
	if err != nil {
		return "", false
	}
	for _, repo := range candidates {
		if _, err := h.authorize(r, Access{Repository: repo, Actions: []string{ActionPull}, MountSource: true}); err == nil {
			return repo, true
		}
	}
	return "", false
}

// upload serves GET, PATCH, PUT and DELETE /v2/<name>/blobs/uploads/<id>.
func (h *handler) upload(w http.ResponseWriter, r *http.Request, name, id string) {
	if !h.allow(w, r, Access{Repository: name, Actions: []string{ActionPush}}) {
		return
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
		st, err := h.core.GetUpload(ctx, name, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.uploadAccepted(w, name, st, http.StatusNoContent)
	case http.MethodDelete:
		if err := h.core.CancelUpload(ctx, name, id); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPatch:
		offset, body, err := chunk(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		st, err := h.core.AppendUpload(ctx, name, id, offset, body)
		if err != nil {
			h.failUpload(w, r, name, id, st, err)
			return
		}
		h.uploadAccepted(w, name, st, http.StatusAccepted)
	case http.MethodPut:
		d := r.URL.Query().Get("digest")
		if d == "" {
			h.fail(w, r, registry.Errorf(registry.KindDigestInvalid, "the digest query parameter is required to complete an upload"))
			return
		}
		dgst, err := registry.ParseDigest(d)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		offset, body, err := chunk(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if offset < 0 && r.ContentLength == 0 {
			body = nil // no final chunk
		}
		info, err := h.core.CompleteUpload(ctx, name, id, offset, body, dgst)
		if err != nil {
			h.failUpload(w, r, name, id, registry.UploadStatus{}, err)
			return
		}
		h.blobCreated(w, name, info.Digest)
	}
}

// failUpload writes a failed chunk's error; after a misplaced chunk (416) it
// also says where the upload stands, so the client can resume.
func (h *handler) failUpload(w http.ResponseWriter, r *http.Request, name, id string, st registry.UploadStatus, err error) {
	if registry.KindOf(err) == registry.KindRangeInvalid {
		if st.ID == "" {
			// The session survives a misplaced chunk; look up where it stands.
			st, _ = h.core.GetUpload(r.Context(), name, id)
		}
		if st.ID != "" {
			h.setUploadHeaders(w, name, st)
		}
	}
	h.fail(w, r, err)
}

// chunk reads a chunk's claimed position from Content-Range (-1 without one)
// and returns the body to append. A body that disagrees with its range is refused.
func chunk(r *http.Request) (int64, io.Reader, error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, r.Body, nil
	}
	start, end, err := parseContentRange(cr)
	if err != nil {
		return 0, nil, &registry.Error{Kind: registry.KindBlobUploadInvalid, Message: "invalid Content-Range " + strconv.Quote(truncate(cr)), Err: err}
	}
	n := end - start + 1
	switch {
	case r.ContentLength >= 0 && r.ContentLength != n:
		return 0, nil, registry.Errorf(registry.KindSizeInvalid, "Content-Length %d does not match Content-Range %d-%d", r.ContentLength, start, end)
	case r.ContentLength < 0:
		// Chunked transfer: the server can't enforce the length, so we do.
		return start, &exactReader{r: r.Body, n: n}, nil
	}
	return start, r.Body, nil
}

// uploadAccepted answers a request that leaves an upload session open.
func (h *handler) uploadAccepted(w http.ResponseWriter, name string, st registry.UploadStatus, status int) {
	h.setUploadHeaders(w, name, st)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func (h *handler) setUploadHeaders(w http.ResponseWriter, name string, st registry.UploadStatus) {
	hd := w.Header()
	hd.Set("Location", h.location("/v2/"+name+"/blobs/uploads/"+st.ID))
	hd.Set("Range", uploadRange(st.Offset))
	hd.Set("Docker-Upload-UUID", st.ID)
}

// uploadRange renders the bytes an upload holds as "0-<last>". An empty
// upload reads "0-0", as CNCF Distribution sends it: clients such as docker
// parse the header with a pattern that "0--1" would break.
func uploadRange(offset int64) string {
	if offset <= 0 {
		return "0-0"
	}
	return "0-" + strconv.FormatInt(offset-1, 10)
}

// blobCreated answers a completed upload or mount.
func (h *handler) blobCreated(w http.ResponseWriter, name string, dgst digest.Digest) {
	hd := w.Header()
	hd.Set("Location", h.location("/v2/"+name+"/blobs/"+dgst.String()))
	hd.Set("Docker-Content-Digest", dgst.String())
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
