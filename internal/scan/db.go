package scan

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/meta"
)

// Settings keys of the vulnerability database's state.
const (
	// settingSourceUpdatedAt holds the newest record's modified time
	// (RFC 3339): the data's age, reported as vulnerabilitySourceUpdatedAt.
	settingSourceUpdatedAt = "scan.vulndb.sourceUpdatedAt"
	// settingGeneration changes on every import so running servers notice
	// new data (and continuous scanning re-matches).
	settingGeneration = "scan.vulndb.generation"
)

// importBatch is how many records go into one transaction.
const importBatch = 500

// ImportStats reports an import.
type ImportStats struct {
	Records int
	Skipped int
	Newest  time.Time
}

// importer writes records in batches.
type importer struct {
	store meta.Store
	batch []*meta.Vulnerability
	stats ImportStats
}

func (im *importer) add(ctx context.Context, b []byte) error {
	v, err := ParseOSV(b)
	if err != nil {
		im.stats.Skipped++
		return nil
	}
	mv := &meta.Vulnerability{ID: v.ID, Modified: v.Modified, Data: b}
	seen := map[meta.VulnPackage]bool{}
	for _, a := range v.Affected {
		k := meta.VulnPackage{Ecosystem: a.Package.Ecosystem, Name: a.Package.Name}
		if k.Ecosystem == "" || k.Name == "" || seen[k] {
			continue
		}
		seen[k] = true
		mv.Affected = append(mv.Affected, k)
	}
	if v.Modified.After(im.stats.Newest) {
		im.stats.Newest = v.Modified
	}
	im.batch = append(im.batch, mv)
	if len(im.batch) >= importBatch {
		return im.flush(ctx)
	}
	return nil
}

func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	err := im.store.InTx(ctx, func(q meta.Queries) error {
		for _, v := range im.batch {
			if err := q.PutVulnerability(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store vulnerabilities: %w", err)
	}
	im.stats.Records += len(im.batch)
	im.batch = im.batch[:0]
	return nil
}

// Import loads OSV records from zip files (osv.dev's per-ecosystem
// all.zip) or directories of JSON files into the store, then marks the
// database updated so scanners pick the data up.
func Import(ctx context.Context, store meta.Store, paths ...string) (ImportStats, error) {
	im := &importer{store: store}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return im.stats, fmt.Errorf("import %s: %w", p, err)
		}
		if st.IsDir() {
			err = im.dir(ctx, p)
		} else {
			err = im.zipFile(ctx, p)
		}
		if err != nil {
			return im.stats, fmt.Errorf("import %s: %w", p, err)
		}
	}
	if err := im.flush(ctx); err != nil {
		return im.stats, err
	}
	return im.stats, markUpdated(ctx, store, im.stats.Newest)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecordBytes {
		return nil, fmt.Errorf("record exceeds %d bytes", maxRecordBytes)
	}
	return b, nil
}

func (im *importer) dir(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json":
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			b, err := readBounded(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
			return im.add(ctx, b)
		case ".zip":
			return im.zipFile(ctx, path)
		}
		return nil
	})
}

func (im *importer) zipFile(ctx context.Context, path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("open zip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("open %s: %w", f.Name, err)
		}
		b, err := readBounded(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		if err := im.add(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// markUpdated records the data's age (never moving it back) and a new
// generation.
func markUpdated(ctx context.Context, store meta.Store, newest time.Time) error {
	return store.InTx(ctx, func(q meta.Queries) error {
		cur, err := sourceUpdatedAt(ctx, q)
		if err != nil {
			return err
		}
		if newest.After(cur) {
			if err := q.PutSetting(ctx, settingSourceUpdatedAt, []byte(newest.UTC().Format(time.RFC3339Nano))); err != nil {
				return fmt.Errorf("record vulnerability data age: %w", err)
			}
		}
		gen := strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := q.PutSetting(ctx, settingGeneration, []byte(gen)); err != nil {
			return fmt.Errorf("record vulnerability data generation: %w", err)
		}
		return nil
	})
}

func sourceUpdatedAt(ctx context.Context, q meta.Queries) (time.Time, error) {
	b, err := q.GetSetting(ctx, settingSourceUpdatedAt)
	if errors.Is(err, meta.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("get vulnerability data age: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("parse vulnerability data age: %w", err)
	}
	return t, nil
}

// SourceUpdatedAt is the age of the imported data (zero when none).
func SourceUpdatedAt(ctx context.Context, store meta.Queries) (time.Time, error) {
	return sourceUpdatedAt(ctx, store)
}

// Generation identifies the current import; empty when none happened.
func Generation(ctx context.Context, store meta.Queries) (string, error) {
	b, err := store.GetSetting(ctx, settingGeneration)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get vulnerability data generation: %w", err)
	}
	return string(b), nil
}

// maxDownloadBytes bounds a downloaded database archive.
const maxDownloadBytes = 8 << 30

// Update downloads an OSV zip from url and imports it.
func Update(ctx context.Context, store meta.Store, client *http.Client, url string) (ImportStats, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ImportStats{}, fmt.Errorf("download %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return ImportStats{}, fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ImportStats{}, fmt.Errorf("download %s: HTTP %s", url, resp.Status)
	}
	f, err := os.CreateTemp("", "berth-vulndb-*.zip")
	if err != nil {
		return ImportStats{}, fmt.Errorf("download %s: %w", url, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxDownloadBytes+1))
	if err != nil {
		return ImportStats{}, fmt.Errorf("download %s: %w", url, err)
	}
	if n > maxDownloadBytes {
		return ImportStats{}, fmt.Errorf("download %s: larger than %d bytes", url, int64(maxDownloadBytes))
	}
	if err := f.Close(); err != nil {
		return ImportStats{}, fmt.Errorf("download %s: %w", url, err)
	}
	return Import(ctx, store, f.Name())
}

// LookupVulns loads the records naming a package.
func LookupVulns(ctx context.Context, store meta.Queries, p Package) ([]*OSV, error) {
	vs, err := store.VulnerabilitiesFor(ctx, p.Ecosystem, p.LookupName())
	if err != nil {
		return nil, err
	}
	out := make([]*OSV, 0, len(vs))
	for _, v := range vs {
		o, err := ParseOSV(v.Data)
		if err != nil {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// MatchAll matches every package against the stored database.
func MatchAll(ctx context.Context, store meta.Queries, pkgs []Package) ([]Finding, error) {
	findings := []Finding{}
	for _, p := range pkgs {
		vulns, err := LookupVulns(ctx, store, p)
		if err != nil {
			return nil, fmt.Errorf("look up %s %s: %w", p.Ecosystem, p.Name, err)
		}
		findings = append(findings, MatchPackage(p, vulns)...)
	}
	return findings, nil
}
