// Package fs is the filesystem blob store.
//
// Layout under the root directory:
//
//	blobs/<algorithm>/<first two hex chars>/<hex>   committed blobs
//	uploads/<id>                                     uploads in progress
//
// An upload is written in place, fsynced and renamed into blobs/ on commit,
// so a crash leaves either no blob or a complete one under its digest.
//
// The rename is not fsynced: a blob costs one fsync of its own (its data),
// and its name rides on the commit that follows in the metadata store, which
// is the commit point of a push. A crash can still lose a rename the metadata
// store has already recorded; the bytes are then durable under their upload
// name, and RecoverCommits, run at startup, puts them back in place. (A new
// file's name is made durable by the fsync of its data on the journaling
// filesystems Linux servers use, ext4, XFS and btrfs; that is what keeps the
// upload name.)
//
// Callers must serialise writes to one upload: the store cannot tell a stale
// concurrent write from a retry after a failed one. As a guard within this
// process, WriteUpload, CommitUpload and AbortUpload fail with ErrBusy while
// another of them runs on the same upload, rather than interleave bytes or
// rename a file that is still being written.
package fs

import (
	"context"
	_ "crypto/sha256" // registers sha256 for digest.Digest.Validate
	_ "crypto/sha512" // registers sha384 and sha512
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

const (
	// bufSize is the copy buffer size: large writes keep syscalls per GiB low.
	bufSize = 1 << 20

	dirPerm  = 0o750
	filePerm = 0o640
)

// bufPool holds *[]byte of bufSize so uploads never allocate a large buffer.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, bufSize)
	return &b
}}

// ErrBusy reports an upload that another call is writing, committing or
// aborting at this moment.
var ErrBusy = errors.New("upload busy")

// Store is a blob.Store on a local filesystem.
type Store struct {
	blobs   string
	uploads string

	mu   sync.Mutex
	busy map[string]struct{} // upload ids being written, committed or aborted
}

var _ blob.Store = (*Store)(nil)

// New opens (creating if needed) a store rooted at root.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("fs blob store: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs blob store: resolve root %q: %w", root, err)
	}
	s := &Store{
		blobs:   filepath.Join(abs, "blobs"),
		uploads: filepath.Join(abs, "uploads"),
		busy:    make(map[string]struct{}),
	}
	for _, dir := range []string{s.blobs, s.uploads} {
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("fs blob store: create %s: %w", dir, err)
		}
	}
	// Create sha256's prefix directories once, durably, so that a commit
	// needs no mkdir and no extra directory fsync. Rarer algorithms get
	// theirs on first use (see commit).
	if err := s.ensurePrefixDirs(digest.SHA256); err != nil {
		return nil, err
	}
	if err := syncPath(abs); err != nil {
		return nil, fmt.Errorf("fs blob store: %w", err)
	}
	return s, nil
}

func (s *Store) ensurePrefixDirs(alg digest.Algorithm) error {
	algDir := filepath.Join(s.blobs, string(alg))
	if err := os.MkdirAll(algDir, dirPerm); err != nil {
		return fmt.Errorf("fs blob store: create %s: %w", algDir, err)
	}
	const hexdigits = "0123456789abcdef"
	created := false
	for _, a := range hexdigits {
		for _, b := range hexdigits {
			dir := filepath.Join(algDir, string(a)+string(b))
			err := os.Mkdir(dir, dirPerm)
			switch {
			case err == nil:
				created = true
			case errors.Is(err, os.ErrExist):
			default:
				return fmt.Errorf("fs blob store: create %s: %w", dir, err)
			}
		}
	}
	if !created {
		return nil
	}
	if err := syncPath(algDir); err != nil {
		return fmt.Errorf("fs blob store: %w", err)
	}
	if err := syncPath(s.blobs); err != nil {
		return fmt.Errorf("fs blob store: %w", err)
	}
	return nil
}

// blobPath maps a digest to its file, refusing anything that is not a valid
// digest of a supported algorithm (which also keeps it inside root).
func (s *Store) blobPath(dgst digest.Digest) (string, error) {
	alg, hex, err := blob.DigestParts(dgst)
	if err != nil {
		return "", fmt.Errorf("fs blob store: %w", err)
	}
	return filepath.Join(s.blobs, alg, hex[:2], hex), nil
}

// uploadPath maps an upload id to its file; ids are [A-Za-z0-9_-]{1,128}.
func (s *Store) uploadPath(id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.uploads, id), nil
}

// claim marks id busy, or fails with ErrBusy. It never waits: a caller
// that waited would then truncate away the bytes its rival just wrote.
func (s *Store) claim(id string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.busy[id]; ok {
		return nil, fmt.Errorf("fs blob store: upload %s: %w", id, ErrBusy)
	}
	s.busy[id] = struct{}{}
	return func() {
		s.mu.Lock()
		delete(s.busy, id)
		s.mu.Unlock()
	}, nil
}

// notFound wraps a missing-file error as blob.ErrNotFound, keeping the cause.
func notFound(what string, err error) error {
	return fmt.Errorf("fs blob store: %s: %w (%w)", what, blob.ErrNotFound, err)
}

// Stat returns the size of a committed blob.
func (s *Store) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, err := s.blobPath(dgst)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, notFound(string(dgst), err)
		}
		return 0, fmt.Errorf("fs blob store: stat %s: %w", dgst, err)
	}
	return fi.Size(), nil
}

// Open returns the blob's *os.File unwrapped, so http.ServeContent can use
// sendfile, and its size.
func (s *Store) Open(ctx context.Context, dgst digest.Digest) (io.ReadSeekCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	p, err := s.blobPath(dgst)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, notFound(string(dgst), err)
		}
		return nil, 0, fmt.Errorf("fs blob store: open %s: %w", dgst, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("fs blob store: stat %s: %w", dgst, err)
	}
	return f, fi.Size(), nil
}

// Delete removes a committed blob; a missing blob is not an error.
func (s *Store) Delete(ctx context.Context, dgst digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.blobPath(dgst)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("fs blob store: delete %s: %w", dgst, err)
	}
	return nil
}

// StartUpload creates the empty upload file. The filesystem needs no state.
func (s *Store) StartUpload(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.uploadPath(id)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("fs blob store: start upload %s: %w", id, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("fs blob store: start upload %s: %w", id, err)
	}
	return nil, nil
}

// WriteUpload writes r at offset in one streaming pass, first discarding any
// bytes beyond offset left by a failed earlier write.
func (s *Store) WriteUpload(ctx context.Context, id string, state []byte, offset int64, r io.Reader) (int64, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, state, err
	}
	if offset < 0 {
		return 0, state, fmt.Errorf("fs blob store: write upload %s: negative offset %d", id, offset)
	}
	p, err := s.uploadPath(id)
	if err != nil {
		return 0, state, err
	}
	release, err := s.claim(id)
	if err != nil {
		return 0, state, err
	}
	defer release()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, state, notFound("upload "+id, err)
		}
		return 0, state, fmt.Errorf("fs blob store: write upload %s: %w", id, err)
	}
	n, err := writeAt(ctx, f, offset, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return n, state, fmt.Errorf("fs blob store: write upload %s at %d: %w", id, offset, err)
	}
	return n, state, nil
}

func writeAt(ctx context.Context, f *os.File, offset int64, r io.Reader) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if size := fi.Size(); size < offset {
		return 0, fmt.Errorf("upload holds %d bytes, fewer than offset %d", size, offset)
	} else if size > offset {
		if err := f.Truncate(offset); err != nil {
			return 0, err
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	return copyBuffered(ctx, &writeback{f: f, off: offset, synced: offset}, r)
}

// copyBuffered copies r to w through a pooled 1 MiB buffer, filling the
// buffer before each write so that small network reads become large writes.
// It deliberately bypasses io.Copy, whose ReaderFrom path on *os.File would
// allocate its own small buffer for ordinary readers.
func copyBuffered(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		nr, rerr := io.ReadFull(r, buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF), errors.Is(rerr, io.ErrUnexpectedEOF):
			return written, nil
		default:
			return written, rerr
		}
	}
}

// ReadUpload returns a reader over the upload's first size bytes.
func (s *Store) ReadUpload(ctx context.Context, id string, state []byte, size int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("fs blob store: read upload %s: negative size %d", id, size)
	}
	p, err := s.uploadPath(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, notFound("upload "+id, err)
		}
		return nil, fmt.Errorf("fs blob store: read upload %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fs blob store: read upload %s: %w", id, err)
	}
	if fi.Size() < size {
		f.Close()
		return nil, fmt.Errorf("fs blob store: read upload %s: holds %d bytes, want %d", id, fi.Size(), size)
	}
	return limitedFile{Reader: io.LimitReader(f, size), f: f}, nil
}

type limitedFile struct {
	io.Reader
	f *os.File
}

func (l limitedFile) Close() error { return l.f.Close() }

// CommitUpload makes the upload's first size bytes durable and visible under
// dgst: fsync the file and rename it into place. The rename's durability is
// the caller's metadata commit's, backed by RecoverCommits (see the package
// documentation).
func (s *Store) CommitUpload(ctx context.Context, id string, state []byte, size int64, dgst digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("fs blob store: commit upload %s: negative size %d", id, size)
	}
	src, err := s.uploadPath(id)
	if err != nil {
		return err
	}
	dst, err := s.blobPath(dgst)
	if err != nil {
		return err
	}
	release, err := s.claim(id)
	if err != nil {
		return err
	}
	defer release()
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("fs blob store: commit upload %s: %w", id, err)
		}
		// A retry after a crash between the rename and the caller's
		// bookkeeping: the blob is already in place.
		if holdsBlob(dst, size) {
			return nil
		}
		return notFound("upload "+id, err)
	}
	if err := s.commit(f, src, dst, size); err != nil {
		return fmt.Errorf("fs blob store: commit upload %s as %s: %w", id, dgst, err)
	}
	return nil
}

// commit owns f and closes it.
func (s *Store) commit(f *os.File, src, dst string, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.Size() < size {
		f.Close()
		return fmt.Errorf("upload holds %d bytes, want %d", fi.Size(), size)
	}
	// Content-addressed: an existing blob of the right size already holds
	// these bytes, fsynced before they were renamed into place (and should
	// that rename be lost, RecoverCommits restores it from its upload name).
	if holdsBlob(dst, size) {
		f.Close()
		if err := os.Remove(src); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove upload: %w", err)
		}
		return nil
	}
	if fi.Size() > size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return s.rename(src, dst)
}

// rename moves src to dst, creating dst's prefix directory durably when it
// is missing (an algorithm not created by New, or removed by hand).
func (s *Store) rename(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := s.mkdirDurable(filepath.Dir(dst)); err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// mkdirDurable creates dir and its parents up to the blobs directory and
// fsyncs each parent whose entries changed.
func (s *Store) mkdirDurable(dir string) error {
	var created []string
	for d := dir; d != s.blobs && len(d) > len(s.blobs); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	for _, d := range created {
		if err := syncPath(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// AbortUpload removes the upload file; a missing upload is not an error.
func (s *Store) AbortUpload(ctx context.Context, id string, state []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.uploadPath(id)
	if err != nil {
		return err
	}
	release, err := s.claim(id)
	if err != nil {
		return err
	}
	defer release()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("fs blob store: abort upload %s: %w", id, err)
	}
	return nil
}

// RemoveStaleUploadFiles removes upload files last modified before olderThan
// for which keep(id) is false: files left by a crash with no session. It
// returns how many it removed. keep may be nil (keep nothing).
func (s *Store) RemoveStaleUploadFiles(ctx context.Context, olderThan time.Time, keep func(id string) bool) (int, error) {
	d, err := os.Open(s.uploads)
	if err != nil {
		return 0, fmt.Errorf("fs blob store: sweep uploads: %w", err)
	}
	defer d.Close()
	removed := 0
	for {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		// Read in batches so a huge directory never sits in memory at once.
		entries, err := d.ReadDir(1024)
		for _, e := range entries {
			id := e.Name()
			if !e.Type().IsRegular() || ValidateID(id) != nil {
				continue
			}
			info, ierr := e.Info()
			if ierr != nil {
				continue // removed meanwhile
			}
			if !info.ModTime().Before(olderThan) || (keep != nil && keep(id)) {
				continue
			}
			release, cerr := s.claim(id)
			if cerr != nil {
				continue // in use after all
			}
			rerr := os.Remove(filepath.Join(s.uploads, id))
			release()
			if rerr != nil {
				if errors.Is(rerr, os.ErrNotExist) {
					continue
				}
				return removed, fmt.Errorf("fs blob store: sweep upload %s: %w", id, rerr)
			}
			removed++
		}
		if errors.Is(err, io.EOF) {
			return removed, nil
		}
		if err != nil {
			return removed, fmt.Errorf("fs blob store: sweep uploads: %w", err)
		}
	}
}

// syncPath fsyncs a file or directory by name (fsync needs no write access).
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// holdsBlob reports whether path is a committed blob of size bytes: blobs
// are content-addressed and fsynced before they are renamed into place, so
// the right size at the right name means the right bytes.
func holdsBlob(path string, size int64) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// ValidateID reports whether id can name an upload (see blob.ValidateUploadID).
func ValidateID(id string) error {
	if err := blob.ValidateUploadID(id); err != nil {
		return fmt.Errorf("fs blob store: %w", err)
	}
	return nil
}
