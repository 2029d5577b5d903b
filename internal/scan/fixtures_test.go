package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarLayer builds an uncompressed layer from path -> content.
func tarLayer(t testing.TB, files map[string][]byte) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newImage(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

const debianOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"

const dpkgStatus = `Package: openssl
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

`

const zlibStatus = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library

`

const alpineOSRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
o:musl
T:the musl c library

C:Q1def=
P:busybox
V:1.36.1-r15
A:x86_64
o:busybox
T:Size optimized toolbox

`

// goBinary builds a tiny Go program; it skips when no Go toolchain is
// available (outside CI).
func goBinary(t testing.TB) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go toolchain needed: %v", err)
		}
		t.Skip("go toolchain not installed")
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/hello\n\ngo 1.22\n")
	write("main.go", "package main\n\nfunc main() { println(\"hello\") }\n")
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build Go fixture: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// debianImage is a Debian 12 image: dpkg status (openssl, libc6), a Go
// binary, and zlib1g installed in one layer and whited out in the next.
func debianImage(t testing.TB) v1.Image {
	return newImage(t,
		tarLayer(t, map[string][]byte{
			"etc/os-release":             []byte(debianOSRelease),
			"var/lib/dpkg/status":        []byte(dpkgStatus),
			"var/lib/dpkg/status.d/zlib": []byte(zlibStatus),
		}),
		tarLayer(t, map[string][]byte{
			"usr/local/bin/hello":            goBinary(t),
			"var/lib/dpkg/status.d/.wh.zlib": nil,
		}),
	)
}

func alpineImage(t testing.TB) v1.Image {
	return newImage(t, tarLayer(t, map[string][]byte{
		"etc/os-release":         []byte(alpineOSRelease),
		"lib/apk/db/installed":   []byte(apkInstalled),
		"etc/alpine-release":     []byte("3.19.1\n"),
		"usr/share/doc/readme":   []byte("hello"),
		"var/cache/apk/.keep":    nil,
		"var/lib/something/file": []byte("x"),
	}))
}

func unsupportedImage(t testing.TB) v1.Image {
	return newImage(t, tarLayer(t, map[string][]byte{"app/data.txt": []byte("just data")}))
}

// osvRecord is a fixture record: one affected package with one range.
func osvRecord(id, eco, pkg, introduced, fixed string, extra map[string]any) []byte {
	rec := map[string]any{
		"id":       id,
		"modified": "2026-01-02T03:04:05Z",
		"summary":  id + " in " + pkg,
		"details":  "Details of " + id + ".",
		"affected": []any{map[string]any{
			"package": map[string]any{"ecosystem": eco, "name": pkg},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{
				map[string]any{"introduced": introduced}, map[string]any{"fixed": fixed},
			}}},
		}},
		"references": []any{map[string]any{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/" + id}},
	}
	for k, v := range extra {
		if k == "ecosystem_specific" {
			rec["affected"].([]any)[0].(map[string]any)[k] = v
			continue
		}
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// writeZip writes records as name.json entries of a zip (osv.dev's all.zip shape).
func writeZip(t testing.TB, path string, recs ...[]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, r := range recs {
		var id struct{ ID string }
		if err := json.Unmarshal(r, &id); err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(id.ID + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const (
	critical31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" // 9.8
	high31     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" // 7.5
)

// fixtureRecords are the OSV data the tests import.
func fixtureRecords() [][]byte {
	return [][]byte{
		// openssl 3.0.11-1~deb12u2 is affected (fixed later): CRITICAL.
		osvRecord("DEBIAN-CVE-2024-0001", "Debian:12", "openssl", "0", "3.0.13-1~deb12u1", map[string]any{
			"upstream": []string{"CVE-2024-0001"},
			"severity": []any{map[string]any{"type": "CVSS_V3", "score": critical31}},
		}),
		// Fixed before the installed version: no finding.
		osvRecord("CVE-2024-0002", "Debian:12", "openssl", "0", "3.0.9-1", map[string]any{
			"severity": []any{map[string]any{"type": "CVSS_V3", "score": high31}},
		}),
		// glibc (libc6's source) with Debian's own rating: MEDIUM.
		osvRecord("CVE-2024-0003", "Debian:12", "glibc", "0", "2.36-9+deb12u7", map[string]any{
			"ecosystem_specific": map[string]any{"urgency": "medium"},
		}),
		// zlib is whited out: no finding.
		osvRecord("CVE-2024-0004", "Debian:12", "zlib", "0", "1:1.3-1", nil),
		// musl r2 < r3 on Alpine: UNDEFINED severity.
		osvRecord("CVE-2024-0005", "Alpine:v3.19", "musl", "0", "1.2.4-r3", nil),
		// Go's standard library of the fixture binary: HIGH.
		osvRecord("GO-2024-0006", "Go", "stdlib", "0", "99.0.0", map[string]any{
			"aliases":  []string{"CVE-2024-0006"},
			"severity": []any{map[string]any{"type": "CVSS_V3", "score": high31}},
		}),
	}
}
