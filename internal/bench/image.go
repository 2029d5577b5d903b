package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// randomData returns n incompressible bytes: an AES-CTR keystream under a
// random key, which AES hardware produces several times faster than the
// kernel's random source or math/rand. Nothing here needs secrecy.
func randomData(n int64) ([]byte, error) {
	var key [32]byte
	var iv [aes.BlockSize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("bench: seed: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("bench: seed: %w", err)
	}
	b := make([]byte, n)
	cipher.NewCTR(block, iv[:]).XORKeyStream(b, b)
	return b, nil
}

// sha256Speed hashes n bytes (cycling over data) on one goroutine, so on
// one core: the speed at which a registry can verify pushed bytes.
func sha256Speed(data []byte, n int64) Throughput {
	h := sha256.New()
	start := time.Now()
	written := writeCycling(h, data, n)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return Throughput{Bytes: written, Elapsed: time.Since(start)}
}

// writeCycling writes n bytes to w, repeating data as needed, in writes of
// at most 1 MiB (the registry's copy size). It returns the bytes written.
func writeCycling(w io.Writer, data []byte, n int64) int64 {
	const chunk = 1 << 20
	if len(data) == 0 {
		return 0
	}
	var written int64
	off := 0
	for written < n {
		if off == len(data) {
			off = 0
		}
		end := min(off+chunk, len(data))
		if int64(end-off) > n-written {
			end = off + int(n-written)
		}
		k, err := w.Write(data[off:end])
		written += int64(k)
		if err != nil {
			return written
		}
		off = end
	}
	return written
}

// image is the random image to push, with everything a client hashes
// computed up front so that no client-side hashing is timed.
type image struct {
	img            v1.Image
	layers         []v1.Descriptor
	manifest       []byte
	manifestDigest v1.Hash
	layerBytes     int64
}

// newImage builds an OCI image whose layers are consecutive slices of data.
// The layers are random bytes, not tar archives: the registry stores layers
// without reading them.
func newImage(data []byte, layers int, layerSize int64) (*image, error) {
	if int64(len(data)) < int64(layers)*layerSize {
		return nil, fmt.Errorf("bench: %d bytes of data for %d layers of %d", len(data), layers, layerSize)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cfg, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("bench: base config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	base, err = mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: config: %w", err)
	}
	ls := make([]v1.Layer, layers)
	for i := range ls {
		off := int64(i) * layerSize
		ls[i] = static.NewLayer(data[off:off+layerSize], types.OCIUncompressedLayer)
	}
	img, err := mutate.AppendLayers(base, ls...)
	if err != nil {
		return nil, fmt.Errorf("bench: build image: %w", err)
	}
	m, err := img.Manifest() // hashes every layer, once
	if err != nil {
		return nil, fmt.Errorf("bench: manifest: %w", err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("bench: manifest: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("bench: manifest digest: %w", err)
	}
	out := &image{img: img, layers: m.Layers, manifest: raw, manifestDigest: d}
	for _, l := range m.Layers {
		out.layerBytes += l.Size
	}
	return out, nil
}
