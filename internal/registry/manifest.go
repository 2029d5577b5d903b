package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"

	"github.com/opencontainers/go-digest"
)

// Manifest media types Berth stores.
const (
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerSchema1      = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1JWS   = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// IsManifestMediaType reports whether mt is a manifest media type Berth stores.
func IsManifestMediaType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// isIndexMediaType reports whether mt lists child manifests.
func isIndexMediaType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// isNondistributable reports whether a layer's bytes live elsewhere, so the
// registry must not require them (OCI nondistributable and Docker foreign layers).
func isNondistributable(mt string) bool {
	switch mt {
	case "application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
		return true
	}
	return false
}

// descriptor is the subset of an OCI descriptor the core validates.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Data         *string           `json:"data,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// rawManifest covers image manifests, indexes and their Docker equivalents.
type rawManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
	// FSLayers marks a Docker schema1 manifest.
	FSLayers json.RawMessage `json:"fsLayers"`
}

// parsedManifest is what validation extracts from a manifest body.
type parsedManifest struct {
	MediaType    string
	ArtifactType string
	Subject      digest.Digest
	ConfigDigest digest.Digest
	Annotations  map[string]string
	// Blobs are the descriptors that must exist in the repository (config
	// and distributable layers).
	Blobs []checkedDescriptor
	// Children are the manifests an index lists.
	Children []checkedDescriptor
}

type checkedDescriptor struct {
	Digest digest.Digest
	Size   int64
}

// parseManifest validates a manifest body. contentType is the request's
// Content-Type; it may be empty or generic, in which case the body's
// mediaType field, or failing that its shape, decides.
func parseManifest(contentType string, content []byte) (*parsedManifest, error) {
	if len(content) > MaxManifestSize {
		return nil, Errorf(KindManifestTooLarge, "manifest is %d bytes, larger than the %d byte limit", len(content), MaxManifestSize)
	}
	ct := contentType
	if ct != "" {
		if parsed, _, err := mime.ParseMediaType(ct); err == nil {
			ct = parsed
		}
	}
	if ct == mediaTypeDockerSchema1 || ct == mediaTypeDockerSchema1JWS {
		return nil, errSchema1()
	}
	trimmed := bytes.TrimSpace(content)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, Errorf(KindManifestInvalid, "manifest is not a JSON object")
	}
	var raw rawManifest
	if err := json.Unmarshal(content, &raw); err != nil {
		return nil, &Error{Kind: KindManifestInvalid, Message: "manifest is not valid JSON", Err: err}
	}
	if raw.SchemaVersion != nil && *raw.SchemaVersion == 1 || raw.FSLayers != nil {
		return nil, errSchema1()
	}
	if raw.SchemaVersion == nil || *raw.SchemaVersion != 2 {
		return nil, Errorf(KindManifestInvalid, "manifest schemaVersion must be 2")
	}

	mt := raw.MediaType
	switch {
	case ct != "" && IsManifestMediaType(ct):
		if mt != "" && mt != ct {
			return nil, Errorf(KindManifestInvalid, "manifest mediaType %s does not match Content-Type %s", quoteTrunc(mt), quoteTrunc(ct))
		}
		mt = ct
	case mt != "":
		if !IsManifestMediaType(mt) {
			return nil, Errorf(KindManifestInvalid, "unsupported manifest mediaType %s", quoteTrunc(mt))
		}
	case raw.Manifests != nil:
		mt = MediaTypeOCIIndex
	case raw.Config != nil:
		mt = MediaTypeOCIManifest
	default:
		return nil, Errorf(KindManifestInvalid, "cannot determine the manifest media type: set Content-Type or mediaType")
	}

	p := &parsedManifest{MediaType: mt, ArtifactType: raw.ArtifactType, Annotations: raw.Annotations}
	if raw.Subject != nil {
		d, err := checkDescriptor("subject", raw.Subject)
		if err != nil {
			return nil, err
		}
		p.Subject = d.Digest
	}

	if isIndexMediaType(mt) {
		if raw.Config != nil || raw.Layers != nil {
			return nil, Errorf(KindManifestInvalid, "an index must not have config or layers")
		}
		for i := range raw.Manifests {
			d, err := checkDescriptor("manifests", &raw.Manifests[i])
			if err != nil {
				return nil, err
			}
			p.Children = append(p.Children, d)
		}
		return p, nil
	}

	if raw.Manifests != nil {
		return nil, Errorf(KindManifestInvalid, "an image manifest must not list manifests")
	}
	if raw.Config == nil {
		return nil, Errorf(KindManifestInvalid, "image manifest has no config descriptor")
	}
	cfg, err := checkDescriptor("config", raw.Config)
	if err != nil {
		return nil, err
	}
	p.ConfigDigest = cfg.Digest
	p.Blobs = append(p.Blobs, cfg)
	if p.ArtifactType == "" && mt == MediaTypeOCIManifest {
		// The referrers API reports the config media type when an image has no artifactType.
		p.ArtifactType = raw.Config.MediaType
	}
	for i := range raw.Layers {
		d, err := checkDescriptor("layers", &raw.Layers[i])
		if err != nil {
			return nil, err
		}
		if isNondistributable(raw.Layers[i].MediaType) {
			continue
		}
		p.Blobs = append(p.Blobs, d)
	}
	return p, nil
}

// checkDescriptor validates one descriptor's digest, size, media type and
// optional embedded data.
func checkDescriptor(field string, d *descriptor) (checkedDescriptor, error) {
	dg, err := digest.Parse(d.Digest)
	if err != nil {
		return checkedDescriptor{}, &Error{Kind: KindManifestInvalid, Message: "invalid digest in " + field + " descriptor: " + quoteTrunc(d.Digest), Err: err}
	}
	if d.Size < 0 {
		return checkedDescriptor{}, Errorf(KindManifestInvalid, "negative size in %s descriptor %s", field, dg)
	}
	if d.MediaType == "" {
		return checkedDescriptor{}, Errorf(KindManifestInvalid, "missing mediaType in %s descriptor %s", field, dg)
	}
	if d.Data != nil {
		data, err := base64.StdEncoding.DecodeString(*d.Data)
		if err != nil {
			return checkedDescriptor{}, Errorf(KindManifestInvalid, "data field of %s descriptor %s is not base64", field, dg)
		}
		if int64(len(data)) != d.Size || dg.Algorithm().FromBytes(data) != dg {
			return checkedDescriptor{}, Errorf(KindManifestInvalid, "data field of %s descriptor %s does not match its digest and size", field, dg)
		}
	}
	return checkedDescriptor{Digest: dg, Size: d.Size}, nil
}

func errSchema1() *Error {
	return Errorf(KindUnsupported, "Docker image manifest schema 1 is not supported: push with a client that writes schema 2 or OCI manifests")
}
