package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

// contentType is set on every object; blobs are opaque bytes.
const contentType = "application/octet-stream"

// StartUpload returns the state of an empty upload. It makes no request:
// an upload exists in S3 only once it holds bytes.
func (s *Store) StartUpload(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := s.uploadDir(id); err != nil {
		return nil, err
	}
	return (&uploadState{V: stateVersion}).marshal()
}

// loadState parses the state of upload id, reporting a missing state as
// blob.ErrNotFound.
func (s *Store) loadState(id string, state []byte) (*uploadState, error) {
	st, err := parseState(state)
	if errors.Is(err, errNoState) {
		return nil, fmt.Errorf("s3 blob store: upload %s: %w (%w)", id, blob.ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: upload %s: %w", id, err)
	}
	return st, nil
}

// WriteUpload streams r into the upload through one pooled buffer (see the
// package comment). The returned state lists the new staged objects; the
// objects of a failed write are orphans that CommitUpload and AbortUpload
// remove with the upload.
func (s *Store) WriteUpload(ctx context.Context, id string, state []byte, offset int64, r io.Reader) (int64, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, state, err
	}
	dir, err := s.uploadDir(id)
	if err != nil {
		return 0, state, err
	}
	st, err := s.loadState(id, state)
	if err != nil {
		return 0, state, err
	}
	// The state is the upload: bytes beyond it from a failed earlier write
	// were never recorded, so they are already discarded.
	if have := st.size(); have != offset {
		return 0, state, fmt.Errorf("s3 blob store: write upload %s: upload holds %d bytes, not offset %d", id, have, offset)
	}
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	buf := *bp

	next := st.clone()
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, state, err
		}
		pending := next.tailSize()
		n, rerr := io.ReadFull(r, buf[pending:])
		eof := errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF)
		if rerr != nil && !eof {
			return written, state, fmt.Errorf("s3 blob store: write upload %s at %d: %w", id, offset+written, rerr)
		}
		if err := s.store(ctx, dir, next, buf, pending, int64(n), eof); err != nil {
			return written, state, fmt.Errorf("s3 blob store: write upload %s at %d: %w", id, offset+written, err)
		}
		written += int64(n)
		if eof {
			break
		}
	}
	out, err := next.marshal()
	if err != nil {
		return written, state, err
	}
	return written, out, nil
}

// store saves n new bytes held in buf[pending:pending+n] behind a pending
// tail of pending bytes, updating st.
func (s *Store) store(ctx context.Context, dir string, st *uploadState, buf []byte, pending, n int64, eof bool) error {
	act := planWrite(pending, len(st.Tail), n, eof, MinPartSize, maxTails)
	if act == actNone {
		return nil
	}
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	switch act {
	case actPart:
		if len(st.Parts) >= maxParts-1 {
			return fmt.Errorf("upload exceeds %d parts; blob too large for the S3 store", maxParts)
		}
		if err := s.readStaged(ctx, dir, st.Tail, buf[:pending]); err != nil {
			return err
		}
		name := stagedName("part", st.partsSize(), nonce)
		if err := s.put(ctx, dir+name, buf[:pending+n], s.defaultSSE()); err != nil {
			return err
		}
		st.Parts = append(st.Parts, staged{Name: name, Size: pending + n})
		st.Tail = nil
	case actTail:
		name := stagedName("tail", st.size(), nonce)
		if err := s.put(ctx, dir+name, buf[pending:pending+n], s.defaultSSE()); err != nil {
			return err
		}
		st.Tail = append(st.Tail, staged{Name: name, Size: n})
	case actCompact:
		if err := s.readStaged(ctx, dir, st.Tail, buf[:pending]); err != nil {
			return err
		}
		name := stagedName("tail", st.partsSize(), nonce)
		if err := s.put(ctx, dir+name, buf[:pending+n], s.defaultSSE()); err != nil {
			return err
		}
		st.Tail = []staged{{Name: name, Size: pending + n}}
	}
	return nil
}

func newNonce() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// put writes data as the object key, encrypted as sse asks.
func (s *Store) put(ctx context.Context, key string, data []byte, sse sseSpec) error {
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = sse.headers()
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return s.wrap(err, "put %s", key)
	}
	return nil
}

// readStaged fills dst with the concatenated staged objects, which must add
// up to exactly len(dst) bytes.
func (s *Store) readStaged(ctx context.Context, dir string, objs []staged, dst []byte) error {
	if sumSizes(objs) != int64(len(dst)) {
		return fmt.Errorf("staged objects hold %d bytes, want %d", sumSizes(objs), len(dst))
	}
	off := int64(0)
	for _, o := range objs {
		if err := s.readObject(ctx, dir+o.Name, dst[off:off+o.Size]); err != nil {
			return err
		}
		off += o.Size
	}
	return nil
}

// readObject fills dst from the start of the object key.
func (s *Store) readObject(ctx context.Context, key string, dst []byte) error {
	if len(dst) == 0 {
		return nil
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &s.bucket,
		Key:    &key,
		Range:  aws.String(fmt.Sprintf("bytes=0-%d", len(dst)-1)),
	})
	if err != nil {
		return s.wrap(err, "get %s", key)
	}
	defer out.Body.Close()
	if _, err := io.ReadFull(out.Body, dst); err != nil {
		return s.wrap(err, "read %s", key)
	}
	return nil
}

// ReadUpload returns a reader over the upload's first size bytes, reading
// the staged objects in turn.
func (s *Store) ReadUpload(ctx context.Context, id string, state []byte, size int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("s3 blob store: read upload %s: negative size %d", id, size)
	}
	dir, err := s.uploadDir(id)
	if err != nil {
		return nil, err
	}
	st, err := s.loadState(id, state)
	if err != nil {
		return nil, err
	}
	p, err := planCommit(st, size)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: read upload %s: %w", id, err)
	}
	spans := append(p.Parts, p.Tail...)
	rs := make([]*objectReader, len(spans))
	for i, sp := range spans {
		rs[i] = &objectReader{ctx: ctx, s: s, key: dir + sp.Name, size: sp.Length}
	}
	return &multiReader{rs: rs}, nil
}

// CommitUpload copies the upload's first size bytes into the blob's key and
// removes the staged objects (see the package comment). The blob gets the
// store's configured encryption.
func (s *Store) CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error {
	return s.commit(ctx, id, state, size, dgst, s.defaultSSE())
}

// CommitUploadEncrypted is CommitUpload with the encryption that the
// committing repository asks for (see sseFor). A blob that already exists
// keeps the encryption it was first committed with.
func (s *Store) CommitUploadEncrypted(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest, enc blob.Encryption) error {
	sse, err := s.sseFor(enc)
	if err != nil {
		return err
	}
	return s.commit(ctx, id, state, size, dgst, sse)
}

func (s *Store) commit(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest, sse sseSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("s3 blob store: commit upload %s: negative size %d", id, size)
	}
	dir, err := s.uploadDir(id)
	if err != nil {
		return err
	}
	key, err := s.blobKey(dgst)
	if err != nil {
		return err
	}
	// Content-addressed: an existing object of the right size already
	// holds these bytes. This also makes a retried commit succeed.
	existing, err := s.headSize(ctx, key)
	switch {
	case err == nil && existing == size:
		s.removeUpload(ctx, id, dir)
		return nil
	case err != nil && !isNotFound(err):
		return s.wrap(err, "commit upload %s: stat %s", id, dgst)
	}
	st, err := s.loadState(id, state)
	if err != nil {
		return err
	}
	p, err := planCommit(st, size)
	if err != nil {
		return fmt.Errorf("s3 blob store: commit upload %s: %w", id, err)
	}
	switch p.Kind {
	case commitCopy:
		src := p.Parts
		if len(src) == 0 {
			src = p.Tail
		}
		err = s.copyObject(ctx, dir+src[0].Name, key, sse)
	case commitPut:
		err = s.putFromTail(ctx, dir, p.Tail, key, sse)
	case commitMultipart:
		err = s.multipartCommit(ctx, dir, p, key, sse)
	}
	if err != nil {
		return fmt.Errorf("s3 blob store: commit upload %s as %s: %w", id, dgst, err)
	}
	s.removeUpload(ctx, id, dir)
	return nil
}

func (s *Store) copyObject(ctx context.Context, src, dst string, sse sseSpec) error {
	in := &s3.CopyObjectInput{
		Bucket:     &s.bucket,
		Key:        &dst,
		CopySource: aws.String(s.copySource(src)),
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = sse.headers()
	if _, err := s.client.CopyObject(ctx, in); err != nil {
		return s.wrap(err, "copy %s to %s", src, dst)
	}
	return nil
}

// putFromTail writes the tail spans (together below MinPartSize) as key.
func (s *Store) putFromTail(ctx context.Context, dir string, tail []span, key string, sse sseSpec) error {
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	buf, err := s.readSpans(ctx, dir, tail, *bp)
	if err != nil {
		return err
	}
	return s.put(ctx, key, buf, sse)
}

// readSpans reads spans into the front of buf and returns the filled part.
func (s *Store) readSpans(ctx context.Context, dir string, spans []span, buf []byte) ([]byte, error) {
	var n int64
	for _, sp := range spans {
		n += sp.Length
	}
	if n > int64(len(buf)) {
		return nil, fmt.Errorf("tail of %d bytes exceeds the %d-byte buffer", n, len(buf))
	}
	off := int64(0)
	for _, sp := range spans {
		if err := s.readObject(ctx, dir+sp.Name, buf[off:off+sp.Length]); err != nil {
			return nil, err
		}
		off += sp.Length
	}
	return buf[:n], nil
}

// multipartCommit builds key as a multipart upload of server-side copies of
// the staged parts, with the tail uploaded (or copied) as the last part.
// Completing it is the commit point; on failure the upload is aborted. The
// parts inherit the multipart upload's encryption.
func (s *Store) multipartCommit(ctx context.Context, dir string, p commitPlan, key string, sse sseSpec) (err error) {
	in := &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key, ContentType: aws.String(contentType)}
	in.ServerSideEncryption, in.SSEKMSKeyId = sse.headers()
	mu, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return s.wrap(err, "create multipart upload %s", key)
	}
	uploadID := aws.ToString(mu.UploadId)
	defer func() {
		if err == nil {
			return
		}
		actx, cancel := withoutCancel(ctx)
		defer cancel()
		if _, aerr := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID}); aerr != nil && !isNotFound(aerr) {
			s.log.WarnContext(ctx, "s3 blob store: abort multipart upload", "key", key, "error", aerr)
		}
	}()

	copies := p.Parts
	// A lone tail object copies as cheaply as a part; several are uploaded.
	if len(p.Tail) == 1 {
		copies = append(copies[:len(copies):len(copies)], p.Tail[0])
	}
	parts := make([]types.CompletedPart, len(copies), len(copies)+1)
	if err := s.copyParts(ctx, dir, copies, key, uploadID, parts); err != nil {
		return err
	}
	if len(p.Tail) > 1 {
		n := int32(len(parts) + 1)
		etag, err := s.uploadTailPart(ctx, dir, p.Tail, key, uploadID, n)
		if err != nil {
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: etag, PartNumber: aws.Int32(n)})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &s.bucket,
		Key:             &key,
		UploadId:        &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return s.wrap(err, "complete multipart upload %s", key)
	}
	return nil
}

// copyParts UploadPartCopy's each span as part i+1, copyWorkers at a time,
// filling parts[i].
func (s *Store) copyParts(ctx context.Context, dir string, spans []span, key, uploadID string, parts []types.CompletedPart) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range min(copyWorkers, len(spans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				etag, err := s.copyPart(ctx, dir+spans[i].Name, spans[i], key, uploadID, int32(i+1))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				parts[i] = types.CompletedPart{ETag: etag, PartNumber: aws.Int32(int32(i + 1))}
			}
		}()
	}
feed:
	for i := range spans {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (s *Store) copyPart(ctx context.Context, src string, sp span, key, uploadID string, n int32) (*string, error) {
	in := &s3.UploadPartCopyInput{
		Bucket:     &s.bucket,
		Key:        &key,
		UploadId:   &uploadID,
		PartNumber: aws.Int32(n),
		CopySource: aws.String(s.copySource(src)),
	}
	if !sp.Whole {
		in.CopySourceRange = aws.String(fmt.Sprintf("bytes=0-%d", sp.Length-1))
	}
	out, err := s.client.UploadPartCopy(ctx, in)
	if err != nil {
		return nil, s.wrap(err, "copy %s as part %d of %s", src, n, key)
	}
	if out.CopyPartResult == nil || out.CopyPartResult.ETag == nil {
		return nil, fmt.Errorf("s3 blob store: copy %s as part %d of %s: no ETag in response", src, n, key)
	}
	return out.CopyPartResult.ETag, nil
}

func (s *Store) uploadTailPart(ctx context.Context, dir string, tail []span, key, uploadID string, n int32) (*string, error) {
	bp := s.bufPool.Get().(*[]byte)
	defer s.bufPool.Put(bp)
	buf, err := s.readSpans(ctx, dir, tail, *bp)
	if err != nil {
		return nil, err
	}
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &s.bucket,
		Key:           &key,
		UploadId:      &uploadID,
		PartNumber:    aws.Int32(n),
		Body:          bytes.NewReader(buf),
		ContentLength: aws.Int64(int64(len(buf))),
	})
	if err != nil {
		return nil, s.wrap(err, "upload part %d of %s", n, key)
	}
	return out.ETag, nil
}

// removeUpload deletes an upload's staged objects after a commit, logging
// (not returning) failures: the blob is already committed, and the stale
// upload sweep retries.
func (s *Store) removeUpload(ctx context.Context, id, dir string) {
	cctx, cancel := withoutCancel(ctx)
	defer cancel()
	if _, err := s.deletePrefix(cctx, dir); err != nil {
		s.log.WarnContext(ctx, "s3 blob store: remove committed upload", "upload", id, "error", err)
	}
}

// AbortUpload deletes every staged object of the upload, including orphans
// of failed writes that the state does not name (idempotent).
func (s *Store) AbortUpload(ctx context.Context, id string, state []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := s.uploadDir(id)
	if err != nil {
		return err
	}
	if _, err := s.deletePrefix(ctx, dir); err != nil {
		return fmt.Errorf("s3 blob store: abort upload %s: %w", id, err)
	}
	return nil
}

// deletePrefix deletes every object whose key starts with prefix, a page of
// at most 1000 at a time, and returns how many it deleted.
func (s *Store) deletePrefix(ctx context.Context, prefix string) (int, error) {
	deleted := 0
	pager := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return deleted, s.wrap(err, "list %s", prefix)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := s.deleteKeys(ctx, keys); err != nil {
			return deleted, err
		}
		deleted += len(keys)
	}
	return deleted, nil
}

// deleteKeys deletes up to 1000 keys in one request.
func (s *Store) deleteKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	objs := make([]types.ObjectIdentifier, len(keys))
	for i := range keys {
		objs[i] = types.ObjectIdentifier{Key: &keys[i]}
	}
	out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &s.bucket,
		Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return s.wrap(err, "delete %d objects", len(keys))
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue
		}
		return fmt.Errorf("s3 blob store: delete %s: %s: %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

// RemoveStaleUploadFiles deletes the staged objects of uploads whose newest
// object was written before olderThan and for which keep(id) is false:
// uploads left without a session by a crash or a cut-short monolithic
// upload. It also aborts multipart uploads under blobs/ begun before
// olderThan, left by a commit that died midway. It returns how many uploads
// it removed. keep may be nil (keep nothing). This lists the uploads/
// prefix: a janitor's job, never a request path's.
func (s *Store) RemoveStaleUploadFiles(ctx context.Context, olderThan time.Time, keep func(id string) bool) (int, error) {
	removed := 0
	root := s.prefix + "uploads/"
	var (
		cur    string // upload id of the current group
		keys   []string
		newest time.Time
	)
	flush := func() error {
		if cur == "" || len(keys) == 0 || !newest.Before(olderThan) || (keep != nil && keep(cur)) {
			return nil
		}
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			if err := s.deleteKeys(ctx, keys[:n]); err != nil {
				return err
			}
			keys = keys[n:]
		}
		removed++
		return nil
	}
	// Keys list in order, so each upload's objects come together.
	pager := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &root})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return removed, s.wrap(err, "sweep uploads: list")
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			id, _, ok := strings.Cut(strings.TrimPrefix(k, root), "/")
			if !ok || ValidateID(id) != nil {
				continue // not ours
			}
			if id != cur {
				if err := flush(); err != nil {
					return removed, err
				}
				cur, keys, newest = id, nil, time.Time{}
			}
			keys = append(keys, k)
			if t := aws.ToTime(o.LastModified); t.After(newest) {
				newest = t
			}
		}
	}
	if err := flush(); err != nil {
		return removed, err
	}
	if err := s.abortStaleMultipart(ctx, olderThan); err != nil {
		return removed, err
	}
	return removed, nil
}

func (s *Store) abortStaleMultipart(ctx context.Context, olderThan time.Time) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(s.prefix + "blobs/")}
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return s.wrap(err, "sweep multipart uploads: list")
		}
		for _, u := range page.Uploads {
			if !aws.ToTime(u.Initiated).Before(olderThan) {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
			if err != nil && !isNotFound(err) {
				return s.wrap(err, "sweep multipart uploads: abort %s", aws.ToString(u.Key))
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}
