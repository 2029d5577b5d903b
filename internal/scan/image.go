package scan

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
)

// maxConfigBytes bounds an image config read for scanning.
const maxConfigBytes = 8 << 20

// storedImage is a v1.Image over the registry's blob store: layers are
// streamed from the store when read, never held in memory.
type storedImage struct {
	ctx      context.Context
	blobs    blob.Store
	manifest []byte
	media    types.MediaType
}

// openImage returns a v1.Image for a stored image manifest.
func openImage(ctx context.Context, blobs blob.Store, mediaType string, manifest []byte) (v1.Image, error) {
	img, err := partial.CompressedToImage(&storedImage{ctx: ctx, blobs: blobs, manifest: manifest, media: types.MediaType(mediaType)})
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	return img, nil
}

func (s *storedImage) RawManifest() ([]byte, error)        { return s.manifest, nil }
func (s *storedImage) MediaType() (types.MediaType, error) { return s.media, nil }

func (s *storedImage) RawConfigFile() ([]byte, error) {
	m, err := partial.Manifest(s)
	if err != nil {
		return nil, err
	}
	rc, err := s.open(m.Config.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("image config exceeds %d bytes", maxConfigBytes)
	}
	return b, nil
}

func (s *storedImage) open(h v1.Hash) (io.ReadCloser, error) {
	d, err := digest.Parse(h.String())
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	rc, _, err := s.blobs.Open(s.ctx, d)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return rc, nil
}

func (s *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := partial.Manifest(s)
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &storedLayer{img: s, desc: l}, nil
		}
	}
	if m.Config.Digest == h {
		return &storedLayer{img: s, desc: m.Config}, nil
	}
	return nil, fmt.Errorf("layer %s not in manifest", h)
}

// storedLayer is one compressed layer in the blob store.
type storedLayer struct {
	img  *storedImage
	desc v1.Descriptor
}

func (l *storedLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *storedLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *storedLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *storedLayer) Compressed() (io.ReadCloser, error)  { return l.img.open(l.desc.Digest) }
