package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
)

// WalkBlobs calls fn for every committed blob with its size and modification
// time, in no particular order. It is for the garbage collector's sweep of
// bytes whose metadata row never got written; no request path walks the
// store. Entries that are not valid blob files are skipped; fn's error
// stops the walk and is returned.
func (s *Store) WalkBlobs(ctx context.Context, fn func(dgst digest.Digest, size int64, modTime time.Time) error) error {
	algs, err := os.ReadDir(s.blobs)
	if err != nil {
		return fmt.Errorf("fs blob store: walk blobs: %w", err)
	}
	for _, a := range algs {
		alg := digest.Algorithm(a.Name())
		if !a.IsDir() || !alg.Available() {
			continue
		}
		prefixes, err := os.ReadDir(filepath.Join(s.blobs, a.Name()))
		if err != nil {
			return fmt.Errorf("fs blob store: walk blobs: %w", err)
		}
		for _, p := range prefixes {
			if !p.IsDir() {
				continue
			}
			if err := s.walkPrefix(ctx, alg, filepath.Join(s.blobs, a.Name(), p.Name()), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) walkPrefix(ctx context.Context, alg digest.Algorithm, dir string, fn func(digest.Digest, int64, time.Time) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fs blob store: walk blobs: %w", err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, rerr := d.ReadDir(1024)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			dgst := digest.NewDigestFromEncoded(alg, e.Name())
			if dgst.Validate() != nil {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			if err := fn(dgst, info.Size(), info.ModTime()); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("fs blob store: walk blobs: %w", rerr)
		}
	}
}
