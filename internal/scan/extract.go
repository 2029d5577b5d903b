package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/osv-scalibr/artifact/image/layerscanning/image"
	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"
)

// ErrUnsupportedImage reports an image with no supported OS or package
// manager: ECR's UNSUPPORTED_IMAGE, not a clean result.
var ErrUnsupportedImage = errors.New("the operating system and/or package manager are not supported")

// Extraction is what an image holds.
type Extraction struct {
	// OS is the os-release ID and VERSION_ID ("debian 12"), empty when absent.
	OS       string    `json:"os,omitempty"`
	Packages []Package `json:"packages"`
}

// ExtractConfig bounds an extraction.
type ExtractConfig struct {
	// MaxFileBytes skips larger files in layers (they are not package
	// databases or are too large to read); defaults to 512 MiB.
	MaxFileBytes int64
}

// supportedOS are the os-release IDs whose package databases are read.
var supportedOS = map[string]bool{
	"debian": true, "ubuntu": true, "alpine": true, "rhel": true, "rocky": true, "almalinux": true,
	"centos": true, "fedora": true, "amzn": true, "ol": true, "opensuse-leap": true, "sles": true,
	"wolfi": true, "chainguard": true, "distroless": true,
}

// Extract finds the packages of an image's final filesystem. Layers are
// streamed one at a time (latest first, so files that a later layer
// replaces or whites out are never read); file contents go to a temporary
// file, not memory. It returns ErrUnsupportedImage when the image has no
// supported OS and no packages.
func Extract(ctx context.Context, img v1.Image, cfg ExtractConfig) (*Extraction, error) {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 512 << 20
	}
	icfg := image.DefaultConfig()
	icfg.MaxFileBytes = cfg.MaxFileBytes
	si, err := image.FromV1Image(img, icfg)
	if errors.Is(err, image.ErrNoLayersFound) {
		return &Extraction{Packages: []Package{}}, ErrUnsupportedImage
	}
	if err != nil {
		return nil, fmt.Errorf("read image layers: %w", err)
	}
	defer func() {
		if err := si.CleanUp(); err != nil {
			slog.Warn("scan: clean up extracted image", "err", err)
		}
	}()

	pcfg := &cpb.PluginConfig{}
	var extractors []filesystem.Extractor
	for _, mk := range []func(*cpb.PluginConfig) (filesystem.Extractor, error){dpkg.New, apk.New, rpm.New, gobinary.New} {
		e, err := mk(pcfg)
		if err != nil {
			return nil, fmt.Errorf("set up extractor: %w", err)
		}
		extractors = append(extractors, e)
	}
	// Only the package extractors run (no detectors, enrichers or network):
	// it keeps the dependency footprint small and the scan offline.
	inv, _, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors: extractors,
		ScanRoots:  []*scalibrfs.ScanRoot{{FS: si.FS()}},
		Stats:      stats.NoopCollector{},
	})
	if err != nil {
		return nil, fmt.Errorf("extract packages: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rel := osReleaseFields(si.FS())
	out := &Extraction{OS: strings.TrimSpace(rel["ID"] + " " + rel["VERSION_ID"]), Packages: []Package{}}
	for _, p := range inv.Packages {
		pkg := Package{Ecosystem: p.Ecosystem().String(), Name: p.Name, Version: p.Version, Location: p.Location.PathOrEmpty()}
		switch m := p.Metadata.(type) {
		case *dpkgmeta.Metadata:
			if m.SourceName != "" && m.SourceName != p.Name {
				pkg.SourceName = m.SourceName
			}
		case *apkmeta.Metadata:
			if m.OriginName != "" && m.OriginName != p.Name {
				pkg.SourceName = m.OriginName
			}
		case *rpmmeta.Metadata:
			if m.Epoch > 0 {
				pkg.Version = fmt.Sprintf("%d:%s", m.Epoch, p.Version)
			}
			pkg.Ecosystem = rpmEcosystem(pkg.Ecosystem, rel)
		}
		if pkg.Ecosystem == "Go" && pkg.Name == "go" {
			pkg.Name = "stdlib" // OSV's name for Go's standard library
		}
		if pkg.Ecosystem == "" || pkg.Name == "" || pkg.Version == "" || pkg.Version == "(devel)" {
			continue
		}
		out.Packages = append(out.Packages, pkg)
	}
	id, _, _ := strings.Cut(out.OS, " ")
	if len(out.Packages) == 0 && !supportedOS[id] {
		return out, ErrUnsupportedImage
	}
	return out, nil
}

// rpmEcosystem completes the release suffix that scalibr leaves off for
// some rpm distributions, so packages meet OSV's records: Rocky Linux is
// keyed by major release ("Rocky Linux:9"), Red Hat by the os-release CPE
// ("Red Hat:enterprise_linux:9::baseos"; scalibr never reads CPE_NAME).
func rpmEcosystem(eco string, rel map[string]string) string {
	switch eco {
	case "Rocky Linux":
		if major, _, _ := strings.Cut(rel["VERSION_ID"], "."); major != "" {
			return eco + ":" + major
		}
	case "Red Hat":
		if _, suffix, ok := strings.Cut(rel["CPE_NAME"], ":redhat:"); ok && suffix != "" {
			return eco + ":" + suffix
		}
	}
	return eco
}

// osReleaseFields reads the image's os-release as key/value pairs (nil
// when it has none).
func osReleaseFields(fsys fs.FS) map[string]string {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil || len(b) > 64<<10 {
			continue
		}
		rel := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok {
				continue
			}
			rel[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
		if rel["ID"] != "" {
			return rel
		}
	}
	return nil
}
