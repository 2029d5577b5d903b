package registry

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-registry/berth/internal/meta"
)

// Manifest is a stored manifest as the core returns it.
type Manifest = meta.Manifest

// BlobInfo describes a committed blob.
type BlobInfo struct {
	Digest digest.Digest
	Size   int64
}

// UploadStatus describes an upload session.
type UploadStatus struct {
	ID         string
	Repository string
	// Offset is the number of bytes received so far.
	Offset int64
}

// PutManifestResult reports what PutManifest stored.
type PutManifestResult struct {
	Digest digest.Digest
	// Subject is the manifest's subject digest, if any (OCI-Subject header).
	Subject digest.Digest
	// Changed is false when the manifest and every tag were already in place.
	Changed bool
	// MediaType is the manifest's media type as stored (the first push of
	// these bytes decided it).
	MediaType string
}

// Referrers lists the descriptors of manifests whose subject is a given digest.
type Referrers = []ocispec.Descriptor
