package scan

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestImportDirAndUpdate(t *testing.T) {
	ctx := t.Context()
	recs := fixtureRecords()

	// A directory of OSV JSON files, with a file that is not a record.
	dir := t.TempDir()
	for i, r := range recs[:2] {
		if err := os.WriteFile(filepath.Join(dir, "r"+itoa(int64(i))+".json"), r, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := openStore(t)
	st, err := Import(ctx, store, dir)
	if err != nil || st.Records != 2 || st.Skipped != 1 {
		t.Fatalf("Import dir = %+v, %v", st, err)
	}
	gen1, err := Generation(ctx, store)
	if err != nil || gen1 == "" {
		t.Fatalf("Generation = %q, %v", gen1, err)
	}

	// update downloads a zip over HTTP.
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	writeZip(t, zipPath, recs...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Debian/all.zip" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, zipPath)
	}))
	defer srv.Close()
	st, err = Update(ctx, store, srv.Client(), srv.URL+"/Debian/all.zip")
	if err != nil || st.Records != len(recs) {
		t.Fatalf("Update = %+v, %v", st, err)
	}
	gen2, err := Generation(ctx, store)
	if err != nil || gen2 == gen1 {
		t.Fatalf("generation after update = %q (was %q), %v", gen2, gen1, err)
	}
	vs, err := store.VulnerabilitiesFor(ctx, "Debian:12", "openssl")
	if err != nil || len(vs) != 2 {
		t.Fatalf("openssl records = %d, %v", len(vs), err)
	}
	if _, err := Update(ctx, store, srv.Client(), srv.URL+"/missing.zip"); err == nil {
		t.Fatal("Update of a missing URL succeeded")
	}
	if _, err := Import(ctx, store, filepath.Join(dir, "nope.zip")); err == nil {
		t.Fatal("Import of a missing path succeeded")
	}
}
