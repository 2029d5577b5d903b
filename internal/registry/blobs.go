package registry

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/meta"
)

// StatBlob reports a blob linked into repo.
func (r *Registry) StatBlob(ctx context.Context, repo string, dgst digest.Digest) (BlobInfo, error) {
	b, err := r.repositoryBlob(ctx, repo, dgst)
	if err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: b.Digest, Size: b.Size}, nil
}

// repositoryBlob finds a blob linked into repo; the repository's existence
// is only checked on the miss path, to keep the hit path one query.
func (r *Registry) repositoryBlob(ctx context.Context, repo string, dgst digest.Digest) (*meta.Blob, error) {
	if err := ValidateRepositoryName(repo); err != nil {
		return nil, err
	}
	if err := validateDigest(dgst); err != nil {
		return nil, err
	}
	b, err := r.meta.GetRepositoryBlob(ctx, repo, dgst)
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return nil, internal(err, "get blob %s in %s", dgst, repo)
	}
	if err := r.repositoryForRead(ctx, repo); err != nil {
		return nil, err
	}
	return nil, errBlobUnknown(dgst)
}

func errBlobUnknown(dgst digest.Digest) *Error {
	return &Error{Kind: KindBlobUnknown, Message: fmt.Sprintf("blob %s is not known to this repository", dgst), Detail: map[string]string{"digest": dgst.String()}}
}

// OpenBlob opens a blob linked into repo. The reader is an *os.File on the
// filesystem store so callers can serve it with sendfile.
func (r *Registry) OpenBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadSeekCloser, BlobInfo, error) {
	b, err := r.repositoryBlob(ctx, repo, dgst)
	if err != nil {
		return nil, BlobInfo{}, err
	}
	rc, size, err := r.blobs.Open(ctx, b.Digest)
	if errors.Is(err, blob.ErrNotFound) {
		// Metadata says it exists but the bytes are gone: an operator-level fault.
		r.log.ErrorContext(ctx, "blob missing from blob store", "repository", repo, "digest", dgst)
		return nil, BlobInfo{}, errBlobUnknown(dgst)
	}
	if err != nil {
		return nil, BlobInfo{}, internal(err, "open blob %s", dgst)
	}
	return rc, BlobInfo{Digest: b.Digest, Size: size}, nil
}

// DeleteBlob unlinks a blob from repo. Bytes are reclaimed by garbage
// collection. As in repositoryBlob, the repository's existence is only
// checked on the miss path.
func (r *Registry) DeleteBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	if err := ValidateRepositoryName(repo); err != nil {
		return err
	}
	if err := validateDigest(dgst); err != nil {
		return err
	}
	err := r.meta.UnlinkBlob(ctx, repo, dgst)
	if errors.Is(err, meta.ErrNotFound) {
		if err := r.repositoryForRead(ctx, repo); err != nil {
			return err
		}
		return errBlobUnknown(dgst)
	}
	if err != nil {
		return internal(err, "unlink blob %s from %s", dgst, repo)
	}
	return nil
}

// MountBlob links a blob that already exists in repository from (or anywhere
// in the registry when from is empty) into repo, without copying bytes.
// It returns KindBlobUnknown when there is nothing to mount.
func (r *Registry) MountBlob(ctx context.Context, repo, from string, dgst digest.Digest) (BlobInfo, error) {
	if err := validateDigest(dgst); err != nil {
		return BlobInfo{}, err
	}
	if from != "" {
		if err := ValidateRepositoryName(from); err != nil {
			return BlobInfo{}, err
		}
	}
	// ECR makes cross-repository mounting an account setting; when it is off
	// there is nothing to mount and clients upload the bytes instead.
	enabled, err := r.BlobMountingEnabled(ctx)
	if err != nil {
		return BlobInfo{}, err
	}
	if !enabled {
		return BlobInfo{}, &Error{Kind: KindBlobUnknown, Message: "blob mounting is disabled for this registry (account setting BLOB_MOUNTING)", Detail: map[string]string{"digest": dgst.String()}}
	}
	var info BlobInfo
	err = r.meta.InTx(ctx, func(q meta.Queries) error {
		if _, err := r.repositoryForPush(ctx, q, repo); err != nil {
			return err
		}
		var b *meta.Blob
		var err error
		if from != "" {
			b, err = q.GetRepositoryBlob(ctx, from, dgst)
		} else {
			b, err = q.GetBlob(ctx, dgst)
		}
		if errors.Is(err, meta.ErrNotFound) {
			return errBlobUnknown(dgst)
		}
		if err != nil {
			return internal(err, "look up blob %s to mount", dgst)
		}
		if err := q.LinkBlob(ctx, repo, dgst); err != nil {
			return internal(err, "link blob %s into %s", dgst, repo)
		}
		info = BlobInfo{Digest: b.Digest, Size: b.Size}
		return nil
	})
	return info, err
}

// StartUpload opens an upload session in repo.
func (r *Registry) StartUpload(ctx context.Context, repo string) (UploadStatus, error) {
	if _, err := r.repositoryForPush(ctx, r.meta, repo); err != nil {
		return UploadStatus{}, err
	}
	id := uuid.NewString()
	state, err := r.blobs.StartUpload(ctx, id)
	if err != nil {
		return UploadStatus{}, internal(err, "start upload")
	}
	h := digest.SHA256.Hash()
	hs, err := marshalHash(h)
	if err != nil {
		return UploadStatus{}, err
	}
	now := r.now()
	u := &meta.Upload{ID: id, Repository: repo, HashState: hs, Algorithm: digest.SHA256, BackendState: state, StartedAt: now, UpdatedAt: now}
	if err := r.meta.CreateUpload(ctx, u); err != nil {
		_ = r.blobs.AbortUpload(ctx, id, state)
		return UploadStatus{}, internal(err, "record upload")
	}
	return UploadStatus{ID: id, Repository: repo}, nil
}

// GetUpload reports an upload session's progress.
func (r *Registry) GetUpload(ctx context.Context, repo, id string) (UploadStatus, error) {
	u, err := r.upload(ctx, repo, id)
	if err != nil {
		return UploadStatus{}, err
	}
	return UploadStatus{ID: u.ID, Repository: u.Repository, Offset: u.Offset}, nil
}

// upload loads a session and checks it belongs to repo and is still live.
func (r *Registry) upload(ctx context.Context, repo, id string) (*meta.Upload, error) {
	if err := ValidateRepositoryName(repo); err != nil {
		return nil, err
	}
	u, err := r.meta.GetUpload(ctx, id)
	if errors.Is(err, meta.ErrNotFound) || err == nil && (u.Repository != repo || r.now().Sub(u.UpdatedAt) > r.cfg.UploadTTL) {
		return nil, &Error{Kind: KindBlobUploadUnknown, Message: "upload " + quoteTrunc(id) + " is unknown or has expired", Detail: map[string]string{"uuid": id}}
	}
	if err != nil {
		return nil, internal(err, "get upload")
	}
	return u, nil
}

// AppendUpload appends body to an upload. offset is where the chunk claims to
// start (from Content-Range), or -1 when the client sent no range; a chunk
// that does not start at the current offset fails with KindRangeInvalid.
func (r *Registry) AppendUpload(ctx context.Context, repo, id string, offset int64, body io.Reader) (UploadStatus, error) {
	unlock, err := r.lockUpload(id)
	if err != nil {
		return UploadStatus{}, err
	}
	defer unlock()
	u, err := r.upload(ctx, repo, id)
	if err != nil {
		return UploadStatus{}, err
	}
	if err := r.appendChunk(ctx, u, offset, body); err != nil {
		return UploadStatus{ID: u.ID, Repository: u.Repository, Offset: u.Offset}, err
	}
	return UploadStatus{ID: u.ID, Repository: u.Repository, Offset: u.Offset}, nil
}

// appendChunk streams body into the upload while hashing it (one pass), then
// records the new offset and hash state. On failure u is left unchanged and
// nothing past the old offset counts.
func (r *Registry) appendChunk(ctx context.Context, u *meta.Upload, offset int64, body io.Reader) error {
	next, err := r.writeChunk(ctx, u, offset, body)
	if err != nil {
		return err
	}
	if err := recordProgress(ctx, r.meta, &next, u); err != nil {
		return err
	}
	*u = next
	return nil
}

// writeChunk writes body at the end of upload u's bytes and returns the
// session as it stands after the write, not yet recorded.
func (r *Registry) writeChunk(ctx context.Context, u *meta.Upload, offset int64, body io.Reader) (meta.Upload, error) {
	if offset >= 0 && offset != u.Offset {
		return meta.Upload{}, &Error{Kind: KindRangeInvalid, Message: fmt.Sprintf("chunk starts at byte %d but the upload holds %d bytes", offset, u.Offset), Detail: map[string]int64{"offset": u.Offset}}
	}
	h, err := unmarshalHash(u.Algorithm, u.HashState)
	if err != nil {
		return meta.Upload{}, err
	}
	src := &clientReader{r: io.TeeReader(body, h)}
	n, state, err := r.blobs.WriteUpload(ctx, u.ID, u.BackendState, u.Offset, src)
	if err != nil {
		return meta.Upload{}, uploadWriteErr(err, src, u.ID)
	}
	hs, err := marshalHash(h)
	if err != nil {
		return meta.Upload{}, err
	}
	next := *u
	next.Offset += n
	next.HashState = hs
	next.BackendState = state
	next.UpdatedAt = r.now()
	return next, nil
}

// recordProgress stores next in place of prev, failing if another request
// moved the session meanwhile.
func recordProgress(ctx context.Context, q meta.Queries, next, prev *meta.Upload) error {
	if err := q.UpdateUpload(ctx, next, prev.Offset); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return Errorf(KindBlobUploadInvalid, "upload %s was modified concurrently", quoteTrunc(prev.ID))
		}
		return internal(err, "record upload progress")
	}
	return nil
}

// CompleteUpload appends an optional final chunk (body may be nil), verifies
// the content against dgst, and commits the blob into repo.
func (r *Registry) CompleteUpload(ctx context.Context, repo, id string, offset int64, body io.Reader, dgst digest.Digest) (BlobInfo, error) {
	if err := validateDigest(dgst); err != nil {
		return BlobInfo{}, err
	}
	unlock, err := r.lockUpload(id)
	if err != nil {
		return BlobInfo{}, err
	}
	defer unlock()
	u, err := r.upload(ctx, repo, id)
	if err != nil {
		return BlobInfo{}, err
	}
	// The final chunk's progress is recorded in the transaction that commits
	// the blob, not in one of its own: that saves a metadata commit (an
	// fsync) per pushed blob. prev is the session as stored.
	prev := *u
	if body != nil {
		next, err := r.writeChunk(ctx, u, offset, body)
		if err != nil {
			return BlobInfo{}, err
		}
		*u = next
	}
	got, err := r.uploadDigest(ctx, u, dgst.Algorithm())
	if err != nil {
		return BlobInfo{}, err
	}
	if got != dgst {
		// A mismatch ends the session: nothing of it stays behind.
		r.dropUpload(ctx, u)
		return BlobInfo{}, &Error{Kind: KindDigestInvalid, Message: fmt.Sprintf("uploaded content has digest %s, not %s", got, dgst), Detail: map[string]string{"digest": dgst.String()}}
	}
	if body != nil {
		// Fail before committing the bytes if another request moved the
		// session meanwhile; the transaction below checks it again.
		cur, err := r.meta.GetUpload(ctx, u.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return BlobInfo{}, internal(err, "read upload")
		}
		if err != nil || cur.Offset != prev.Offset {
			return BlobInfo{}, Errorf(KindBlobUploadInvalid, "upload %s was modified concurrently", quoteTrunc(u.ID))
		}
	}
	if err := r.commitBlob(ctx, repo, nil, u.ID, u.BackendState, u.Offset, dgst); err != nil {
		return BlobInfo{}, internal(err, "commit blob %s", dgst)
	}
	info := BlobInfo{Digest: dgst, Size: u.Offset}
	err = r.meta.InTx(ctx, func(q meta.Queries) error {
		if body != nil {
			// The same optimistic check UpdateUpload makes for a chunk.
			if err := recordProgress(ctx, q, u, &prev); err != nil {
				return err
			}
		}
		if err := q.DeleteUpload(ctx, u.ID); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return internal(err, "delete upload")
		}
		return r.linkNewBlob(ctx, q, repo, info)
	})
	return info, err
}

// uploadDigest returns the digest of everything uploaded so far with the
// given algorithm: from the running hash when the algorithm matches (the
// common case), else by reading the bytes back once.
func (r *Registry) uploadDigest(ctx context.Context, u *meta.Upload, alg digest.Algorithm) (digest.Digest, error) {
	if alg == u.Algorithm {
		h, err := unmarshalHash(u.Algorithm, u.HashState)
		if err != nil {
			return "", err
		}
		return digest.NewDigest(alg, h), nil
	}
	rc, err := r.blobs.ReadUpload(ctx, u.ID, u.BackendState, u.Offset)
	if err != nil {
		return "", internal(err, "read upload back")
	}
	defer rc.Close()
	d, err := alg.FromReader(rc)
	if err != nil {
		return "", internal(err, "hash upload")
	}
	return d, nil
}

// linkNewBlob records committed bytes and links them into repo.
func (r *Registry) linkNewBlob(ctx context.Context, q meta.Queries, repo string, info BlobInfo) error {
	if _, err := r.repositoryForPush(ctx, q, repo); err != nil {
		return err
	}
	if err := r.checkCollectedBlob(ctx, q, info.Digest); err != nil { // gc.go
		return err
	}
	if err := q.PutBlob(ctx, meta.Blob{Digest: info.Digest, Size: info.Size, CreatedAt: r.now()}); err != nil {
		return internal(err, "record blob %s", info.Digest)
	}
	if err := q.LinkBlob(ctx, repo, info.Digest); err != nil {
		return internal(err, "link blob %s into %s", info.Digest, repo)
	}
	return nil
}

// commitBlob makes an upload's bytes the blob dgst. A store that encrypts
// per blob (S3) gets the encryption configuration of repo, the repository
// committing it: the first repository to commit a digest decides how its
// shared object is encrypted. m is repo's record when the caller has it,
// else it is read here, only for such a store.
func (r *Registry) commitBlob(ctx context.Context, repo string, m *meta.Repository, id string, state []byte, size int64, dgst digest.Digest) error {
	ec, ok := r.blobs.(blob.EncryptingCommitter)
	if !ok {
		return r.blobs.CommitUpload(ctx, id, state, size, dgst)
	}
	if m == nil {
		var err error
		if m, err = r.meta.GetRepository(ctx, repo); err != nil {
			return r.repoErr(err, repo)
		}
	}
	settings, err := decodeRepository(m)
	if err != nil {
		return err
	}
	return ec.CommitUploadEncrypted(ctx, id, state, size, dgst, blob.Encryption{Type: settings.EncryptionType, KMSKey: settings.KMSKey})
}

// CancelUpload abandons an upload session and releases its bytes.
func (r *Registry) CancelUpload(ctx context.Context, repo, id string) error {
	unlock, err := r.lockUpload(id)
	if err != nil {
		return err
	}
	defer unlock()
	u, err := r.upload(ctx, repo, id)
	if err != nil {
		return err
	}
	r.dropUpload(ctx, u)
	return nil
}

// dropUpload deletes a session and its bytes, logging (not returning)
// failures: the janitor retries whatever is left.
func (r *Registry) dropUpload(ctx context.Context, u *meta.Upload) {
	if err := r.meta.DeleteUpload(ctx, u.ID); err != nil && !errors.Is(err, meta.ErrNotFound) {
		r.log.WarnContext(ctx, "delete upload session", "upload", u.ID, "error", err)
	}
	if err := r.blobs.AbortUpload(ctx, u.ID, u.BackendState); err != nil {
		r.log.WarnContext(ctx, "release upload bytes", "upload", u.ID, "error", err)
	}
}

// PutBlob stores a whole blob in one call (monolithic upload). It keeps no
// session in the metadata store: a crash midway leaves only upload bytes,
// which the janitor reclaims.
func (r *Registry) PutBlob(ctx context.Context, repo string, dgst digest.Digest, body io.Reader) (BlobInfo, error) {
	if err := validateDigest(dgst); err != nil {
		return BlobInfo{}, err
	}
	m, err := r.repositoryForPush(ctx, r.meta, repo)
	if err != nil {
		return BlobInfo{}, err
	}
	id := uuid.NewString()
	state, err := r.blobs.StartUpload(ctx, id)
	if err != nil {
		return BlobInfo{}, internal(err, "start upload")
	}
	h := dgst.Algorithm().Hash()
	src := &clientReader{r: io.TeeReader(body, h)}
	n, state, err := r.blobs.WriteUpload(ctx, id, state, 0, src)
	if err != nil {
		err = uploadWriteErr(err, src, id)
	}
	if err == nil && digest.NewDigest(dgst.Algorithm(), h) != dgst {
		err = &Error{Kind: KindDigestInvalid, Message: fmt.Sprintf("uploaded content has digest %s, not %s", digest.NewDigest(dgst.Algorithm(), h), dgst), Detail: map[string]string{"digest": dgst.String()}}
	}
	if err == nil {
		err = r.commitBlob(ctx, repo, m, id, state, n, dgst)
	}
	if err != nil {
		if abortErr := r.blobs.AbortUpload(ctx, id, state); abortErr != nil {
			r.log.WarnContext(ctx, "release upload bytes", "upload", id, "error", abortErr)
		}
		return BlobInfo{}, internal(err, "store blob %s", dgst)
	}
	info := BlobInfo{Digest: dgst, Size: n}
	return info, r.meta.InTx(ctx, func(q meta.Queries) error { return r.linkNewBlob(ctx, q, repo, info) })
}

// ReclaimStaleUploads removes upload sessions idle for longer than the upload
// TTL, with their bytes. It returns how many sessions were reclaimed.
func (r *Registry) ReclaimStaleUploads(ctx context.Context) (int, error) {
	cutoff := r.now().Add(-r.cfg.UploadTTL)
	reclaimed := 0
	for {
		stale, err := r.meta.ListStaleUploads(ctx, cutoff, 100)
		if err != nil {
			return reclaimed, internal(err, "list stale uploads")
		}
		for i := range stale {
			r.dropUpload(ctx, &stale[i])
			reclaimed++
		}
		if len(stale) < 100 {
			break
		}
	}
	// Bytes left by sessions that never reached the metadata store (a crash
	// between creating the file and recording the session, or a monolithic
	// upload cut short).
	if sweeper, ok := r.blobs.(interface {
		RemoveStaleUploadFiles(ctx context.Context, olderThan time.Time, keep func(id string) bool) (int, error)
	}); ok {
		_, err := sweeper.RemoveStaleUploadFiles(ctx, cutoff, r.inSession(ctx))
		if err != nil {
			return reclaimed, internal(err, "sweep upload files")
		}
	}
	return reclaimed, nil
}

// inSession returns a test of whether an upload id has a session, which
// answers yes when the metadata store cannot tell: its bytes must be kept.
func (r *Registry) inSession(ctx context.Context) func(id string) bool {
	return func(id string) bool {
		_, err := r.meta.GetUpload(ctx, id)
		return err == nil || !errors.Is(err, meta.ErrNotFound)
	}
}

// RecoverBlobCommits puts back, after a crash, blobs the metadata store
// recorded but whose name the blob store lost (see blob.CommitRecoverer),
// returning how many. The server runs it once before serving, ahead of the
// janitor, which would otherwise take their bytes for abandoned uploads.
func (r *Registry) RecoverBlobCommits(ctx context.Context) (int, error) {
	rec, ok := r.blobs.(blob.CommitRecoverer)
	if !ok {
		return 0, nil
	}
	recorded := func(ctx context.Context, dgst digest.Digest) (bool, error) {
		_, err := r.meta.GetBlob(ctx, dgst)
		if errors.Is(err, meta.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	n, err := rec.RecoverCommits(ctx, recorded, r.inSession(ctx))
	if err != nil {
		return n, internal(err, "recover blob commits")
	}
	return n, nil
}

func marshalHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, Errorf(KindInternal, "hash state cannot be saved")
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, internal(err, "save hash state")
	}
	return b, nil
}

func unmarshalHash(alg digest.Algorithm, state []byte) (hash.Hash, error) {
	if !alg.Available() {
		return nil, Errorf(KindInternal, "upload uses unavailable digest algorithm %s", alg)
	}
	h := alg.Hash()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, Errorf(KindInternal, "hash state cannot be restored")
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, internal(err, "restore hash state")
	}
	return h, nil
}

// clientReader remembers a failure reading the client's body, so a broken or
// oversized request is told apart from a storage failure.
type clientReader struct {
	r   io.Reader
	err error
}

func (c *clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// uploadWriteErr classifies a failed blob-store write.
func uploadWriteErr(err error, src *clientReader, id string) error {
	switch {
	case src.err != nil:
		return &Error{Kind: KindBlobUploadInvalid, Message: "failed to receive upload data", Err: src.err}
	case errors.Is(err, blob.ErrNotFound):
		return &Error{Kind: KindBlobUploadUnknown, Message: "upload " + quoteTrunc(id) + " is unknown or has expired", Err: err}
	default:
		return internal(err, "write upload %s", id)
	}
}

// uploadLocks serializes the requests of one upload session on this node.
// Without it two appends could both pass the offset check, and the bytes of
// the loser could replace those the winner hashed, so a blob would be stored
// under a digest it does not have. A second request fails at once instead of
// waiting: a waiting writer would truncate the first one's bytes.
type uploadLocks struct {
	mu   sync.Mutex
	busy map[string]struct{}
}

func (r *Registry) lockUpload(id string) (unlock func(), err error) {
	l := r.uploads
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, held := l.busy[id]; held {
		return nil, Errorf(KindBlobUploadInvalid, "upload %s is busy with another request", quoteTrunc(id))
	}
	if l.busy == nil {
		l.busy = make(map[string]struct{})
	}
	l.busy[id] = struct{}{}
	return func() {
		l.mu.Lock()
		delete(l.busy, id)
		l.mu.Unlock()
	}, nil
}

// BlobRepositories lists up to limit repositories that hold dgst, so an
// adapter can find a source the caller may read for an anonymous mount.
func (r *Registry) BlobRepositories(ctx context.Context, dgst digest.Digest, limit int) ([]string, error) {
	if err := validateDigest(dgst); err != nil {
		return nil, err
	}
	repos, err := r.meta.BlobRepositories(ctx, dgst, limit)
	if err != nil {
		return nil, internal(err, "find repositories of blob %s", dgst)
	}
	return repos, nil
}
