package fs

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// recoverAlgorithms are the digests an orphaned upload file is checked
// against: every algorithm a blob may be committed under.
var recoverAlgorithms = []digest.Algorithm{digest.SHA256, digest.SHA384, digest.SHA512}

// RecoverCommits restores blobs whose rename into place a crash lost after
// the metadata store had recorded them (see the package documentation). It
// reads every upload file that has no session (inSession reports false),
// hashes it, and for each digest that committed reports as recorded:
// renames it into place durably (fsync of the file, rename, fsync of the
// directory), or removes it when the blob is already in place. Files that
// match no recorded blob are left to RemoveStaleUploadFiles. It returns how
// many blobs it restored. Run it before serving: it must see the upload
// files before the janitor does.
func (s *Store) RecoverCommits(ctx context.Context, committed func(context.Context, digest.Digest) (bool, error), inSession func(id string) bool) (int, error) {
	entries, err := os.ReadDir(s.uploads)
	if err != nil {
		return 0, fmt.Errorf("fs blob store: recover commits: %w", err)
	}
	restored := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return restored, err
		}
		id := e.Name()
		if !e.Type().IsRegular() || ValidateID(id) != nil || inSession(id) {
			continue
		}
		ok, err := s.recoverUpload(ctx, id, committed)
		if err != nil {
			return restored, fmt.Errorf("fs blob store: recover upload %s: %w", id, err)
		}
		if ok {
			restored++
		}
	}
	return restored, nil
}

// recoverUpload restores one upload file if it holds a recorded blob that is
// missing, reporting whether it did.
func (s *Store) recoverUpload(ctx context.Context, id string, committed func(context.Context, digest.Digest) (bool, error)) (bool, error) {
	release, err := s.claim(id)
	if err != nil {
		return false, nil // in use: not an orphan
	}
	defer release()
	src := filepath.Join(s.uploads, id)
	digests, size, err := hashFile(ctx, src)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, d := range digests {
		known, err := committed(ctx, d)
		if err != nil {
			return false, fmt.Errorf("look up %s: %w", d, err)
		}
		if !known {
			continue
		}
		dst, err := s.blobPath(d)
		if err != nil {
			return false, err
		}
		if holdsBlob(dst, size) {
			// In place after all: this file is a second copy.
			if err := os.Remove(src); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
			return false, nil
		}
		// The bytes were fsynced before the lost rename, unless this copy
		// never got that far (a crash of the process, not of the machine,
		// leaves written but unsynced bytes readable): sync them again.
		if err := syncPath(src); err != nil {
			return false, err
		}
		if err := s.rename(src, dst); err != nil {
			return false, err
		}
		if err := syncPath(filepath.Dir(dst)); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// hashFile returns the file's digest under every recoverAlgorithms entry,
// read in one pass, and its size.
func hashFile(ctx context.Context, path string) ([]digest.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	hashes := make([]hash.Hash, len(recoverAlgorithms))
	writers := make([]io.Writer, len(recoverAlgorithms))
	for i, alg := range recoverAlgorithms {
		hashes[i] = alg.Hash()
		writers[i] = hashes[i]
	}
	size, err := copyBuffered(ctx, io.MultiWriter(writers...), f)
	if err != nil {
		return nil, 0, err
	}
	digests := make([]digest.Digest, len(hashes))
	for i, h := range hashes {
		digests[i] = digest.NewDigest(recoverAlgorithms[i], h)
	}
	return digests, size, nil
}
