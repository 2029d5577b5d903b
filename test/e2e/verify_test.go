package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// verifyImage downloads an image's config and every layer and checks each
// against the digest and size its manifest declares.
func verifyImage(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := checkContent(m.Config, int64(len(raw)), sha256Hex(raw)); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for i, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, desc.Digest, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d (%s): reading: %w", i, desc.Digest, err)
		}
		if err := checkContent(desc, n, hex.EncodeToString(h.Sum(nil))); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return nil
}

// verifyIndex verifies every image an index lists (one level deep).
func verifyIndex(idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("index manifest: %w", err)
	}
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return fmt.Errorf("child %s: %w", desc.Digest, err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			return fmt.Errorf("child %s: %w", desc.Digest, err)
		}
		if err := checkContent(desc, int64(len(raw)), sha256Hex(raw)); err != nil {
			return fmt.Errorf("child manifest: %w", err)
		}
		if err := verifyImage(img); err != nil {
			return fmt.Errorf("child %s: %w", desc.Digest, err)
		}
	}
	return nil
}

func checkContent(desc v1.Descriptor, size int64, sha string) error {
	if desc.Digest.Algorithm != "sha256" {
		return fmt.Errorf("%s: unexpected algorithm", desc.Digest)
	}
	if desc.Digest.Hex != sha {
		return fmt.Errorf("%s: content hashes to sha256:%s", desc.Digest, sha)
	}
	if desc.Size != size {
		return fmt.Errorf("%s: %d bytes, manifest says %d", desc.Digest, size, desc.Size)
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
