package scan

import (
	"archive/tar"
	"errors"
	"io"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// genLayer is a layer whose tar stream is generated while read: files of
// fileSize bytes up to total, then the given extra files. It never holds
// more than one buffer in memory.
type genLayer struct {
	total, fileSize int64
	extra           map[string][]byte
	hash            v1.Hash
}

func (l *genLayer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		write := func(name string, size int64, fill func(io.Writer) error) error {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			return fill(tw)
		}
		var err error
		for n := int64(0); err == nil && n*l.fileSize < l.total; n++ {
			err = write("data/blob-"+itoa(n), l.fileSize, func(w io.Writer) error {
				for left := l.fileSize; left > 0; {
					k := min(left, int64(len(buf)))
					if _, err := w.Write(buf[:k]); err != nil {
						return err
					}
					left -= k
				}
				return nil
			})
		}
		for name, c := range l.extra {
			if err == nil {
				err = write(name, int64(len(c)), func(w io.Writer) error { _, err := w.Write(c); return err })
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func (l *genLayer) Compressed() (io.ReadCloser, error)  { return l.Uncompressed() }
func (l *genLayer) Digest() (v1.Hash, error)            { return l.hash, nil }
func (l *genLayer) DiffID() (v1.Hash, error)            { return l.hash, nil }
func (l *genLayer) Size() (int64, error)                { return l.total, nil }
func (l *genLayer) MediaType() (types.MediaType, error) { return types.DockerUncompressedLayer, nil }

// genImage is a one-layer v1.Image over a generated layer.
type genImage struct{ layer *genLayer }

var errNotNeeded = errors.New("not needed by extraction")

func (g *genImage) Layers() ([]v1.Layer, error)             { return []v1.Layer{g.layer}, nil }
func (g *genImage) MediaType() (types.MediaType, error)     { return types.DockerManifestSchema2, nil }
func (g *genImage) Size() (int64, error)                    { return 0, errNotNeeded }
func (g *genImage) ConfigName() (v1.Hash, error)            { return v1.Hash{}, errNotNeeded }
func (g *genImage) ConfigFile() (*v1.ConfigFile, error)     { return &v1.ConfigFile{OS: "linux"}, nil }
func (g *genImage) RawConfigFile() ([]byte, error)          { return nil, errNotNeeded }
func (g *genImage) Digest() (v1.Hash, error)                { return v1.Hash{}, errNotNeeded }
func (g *genImage) Manifest() (*v1.Manifest, error)         { return nil, errNotNeeded }
func (g *genImage) RawManifest() ([]byte, error)            { return nil, errNotNeeded }
func (g *genImage) LayerByDigest(v1.Hash) (v1.Layer, error) { return g.layer, nil }
func (g *genImage) LayerByDiffID(v1.Hash) (v1.Layer, error) { return g.layer, nil }

// BenchmarkExtract1GiB extracts a 1 GiB image (1 MiB files plus a dpkg
// database) and reports the process's peak RSS: extraction streams the
// layer and spools file contents to disk, so the peak stays far below the
// image size.
func BenchmarkExtract1GiB(b *testing.B) {
	img := &genImage{layer: &genLayer{total: 1 << 30, fileSize: 1 << 20,
		hash:  v1.Hash{Algorithm: "sha256", Hex: "0000000000000000000000000000000000000000000000000000000000000001"},
		extra: map[string][]byte{"etc/os-release": []byte(debianOSRelease), "var/lib/dpkg/status": []byte(dpkgStatus)}}}
	for b.Loop() {
		ex, err := Extract(b.Context(), img, ExtractConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if len(ex.Packages) != 2 {
			b.Fatalf("packages = %+v", ex.Packages)
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}
