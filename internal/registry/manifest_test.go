package registry

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

var (
	cfgDigest   = digest.FromString("config")
	layerDigest = digest.FromString("layer")
)

func TestParseManifest(t *testing.T) {
	image := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cfgDigest.String() + `","size":6},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + layerDigest.String() + `","size":5}]}`
	data := base64.StdEncoding.EncodeToString([]byte("config"))
	tests := []struct {
		name        string
		contentType string
		body        string
		kind        Kind // KindInternal means success
		mediaType   string
		blobs       int
		children    int
		artifact    string
	}{
		{name: "oci image", contentType: MediaTypeOCIManifest, body: image, mediaType: MediaTypeOCIManifest, blobs: 2, artifact: "application/vnd.oci.image.config.v1+json"},
		{name: "media type from body", body: image, mediaType: MediaTypeOCIManifest, blobs: 2, artifact: "application/vnd.oci.image.config.v1+json"},
		{name: "content type with params", contentType: MediaTypeOCIManifest + "; charset=utf-8", body: image, mediaType: MediaTypeOCIManifest, blobs: 2, artifact: "application/vnd.oci.image.config.v1+json"},
		{name: "media type mismatch", contentType: MediaTypeDockerManifest, body: image, kind: KindManifestInvalid},
		{name: "docker schema2", contentType: MediaTypeDockerManifest,
			body:      `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + cfgDigest.String() + `","size":6},"layers":[]}`,
			mediaType: MediaTypeDockerManifest, blobs: 1},
		{name: "artifactType wins", contentType: MediaTypeOCIManifest,
			body:      `{"schemaVersion":2,"artifactType":"application/x-sbom","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + cfgDigest.String() + `","size":6},"layers":[]}`,
			mediaType: MediaTypeOCIManifest, blobs: 1, artifact: "application/x-sbom"},
		{name: "nondistributable layer not required", contentType: MediaTypeOCIManifest,
			body:      `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":6},"layers":[{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":"` + layerDigest.String() + `","size":5,"urls":["https://example.com/l"]}]}`,
			mediaType: MediaTypeOCIManifest, blobs: 1, artifact: "a/b"},
		{name: "index", contentType: MediaTypeOCIIndex,
			body:      `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + layerDigest.String() + `","size":5}]}`,
			mediaType: MediaTypeOCIIndex, children: 1},
		{name: "index inferred", body: `{"schemaVersion":2,"manifests":[]}`, mediaType: MediaTypeOCIIndex},
		{name: "docker list", contentType: MediaTypeDockerManifestList, body: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`, mediaType: MediaTypeDockerManifestList},
		{name: "valid data field", contentType: MediaTypeOCIManifest,
			body:      `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":6,"data":"` + data + `"},"layers":[]}`,
			mediaType: MediaTypeOCIManifest, blobs: 1, artifact: "a/b"},
		{name: "data field mismatch", contentType: MediaTypeOCIManifest,
			body: `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + layerDigest.String() + `","size":6,"data":"` + data + `"},"layers":[]}`, kind: KindManifestInvalid},
		{name: "subject", contentType: MediaTypeOCIManifest,
			body:      `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":6},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + layerDigest.String() + `","size":5}}`,
			mediaType: MediaTypeOCIManifest, blobs: 1, artifact: "a/b"},
		{name: "schema1 by content type", contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws", body: `{"schemaVersion":1}`, kind: KindUnsupported},
		{name: "schema1 by body", body: `{"schemaVersion":1,"fsLayers":[]}`, kind: KindUnsupported},
		{name: "not json", contentType: MediaTypeOCIManifest, body: `nope`, kind: KindManifestInvalid},
		{name: "truncated json", contentType: MediaTypeOCIManifest, body: `{"schemaVersion":2,`, kind: KindManifestInvalid},
		{name: "missing schemaVersion", contentType: MediaTypeOCIManifest, body: `{"config":{}}`, kind: KindManifestInvalid},
		{name: "missing config", contentType: MediaTypeOCIManifest, body: `{"schemaVersion":2,"layers":[]}`, kind: KindManifestInvalid},
		{name: "bad layer digest", contentType: MediaTypeOCIManifest,
			body: `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":6},"layers":[{"mediaType":"x","digest":"sha256:zz","size":1}]}`, kind: KindManifestInvalid},
		{name: "negative size", contentType: MediaTypeOCIManifest,
			body: `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + cfgDigest.String() + `","size":-1},"layers":[]}`, kind: KindManifestInvalid},
		{name: "index with layers", contentType: MediaTypeOCIIndex, body: `{"schemaVersion":2,"manifests":[],"layers":[]}`, kind: KindManifestInvalid},
		{name: "unknown media type", body: `{"schemaVersion":2,"mediaType":"application/x-unknown","config":{}}`, kind: KindManifestInvalid},
		{name: "too large", contentType: MediaTypeOCIManifest, body: `{"schemaVersion":2,"x":"` + strings.Repeat("a", MaxManifestSize) + `"}`, kind: KindManifestTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseManifest(tt.contentType, []byte(tt.body))
			if tt.kind != KindInternal {
				if KindOf(err) != tt.kind {
					t.Fatalf("err = %v (kind %v), want kind %v", err, KindOf(err), tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if p.MediaType != tt.mediaType || len(p.Blobs) != tt.blobs || len(p.Children) != tt.children || p.ArtifactType != tt.artifact {
				t.Fatalf("got mediaType=%s blobs=%d children=%d artifact=%q", p.MediaType, len(p.Blobs), len(p.Children), p.ArtifactType)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"`+cfgDigest.String()+`","size":6},"layers":[]}`))
	f.Add(MediaTypeOCIIndex, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"`+cfgDigest.String()+`","size":1}]}`))
	f.Add("", []byte(`{"schemaVersion":1}`))
	f.Add("", []byte(`[]`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := parseManifest(contentType, body)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("error is not a domain error: %v", err)
			}
			return
		}
		if !IsManifestMediaType(p.MediaType) {
			t.Fatalf("accepted unknown media type %q", p.MediaType)
		}
		for _, d := range append(p.Blobs, p.Children...) {
			if d.Digest.Validate() != nil || d.Size < 0 {
				t.Fatalf("accepted bad descriptor %+v", d)
			}
		}
	})
}

func BenchmarkParseManifest(b *testing.B) {
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cfgDigest.String() + `","size":6},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + layerDigest.String() + `","size":5},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + layerDigest.String() + `","size":5}]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseManifest(MediaTypeOCIManifest, body); err != nil {
			b.Fatal(err)
		}
	}
}
