package config

import (
	"strings"
	"testing"
	"time"
)

func TestScaleOutSettings(t *testing.T) {
	const s3URL = "s3://bucket/prefix?endpoint=http://127.0.0.1:7070&region=us-east-1&path-style=true"
	const pgURL = "postgres://berth:secret@db:5432/berth?sslmode=disable"
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults embed", check: func(t *testing.T, c Config) {
			if c.UsesS3() || c.UsesPostgres() || c.BlobRedirect || c.CacheTTL != 0 || c.MetadataMaxConns != 0 {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "flags", args: []string{"--blob-store", s3URL, "--metadata", pgURL, "--master-key-file", "/k", "--blob-redirect",
			"--metadata-max-conns", "8", "--metadata-conn-lifetime", "30m", "--cache-ttl", "2s"},
			check: func(t *testing.T, c Config) {
				if c.BlobStore != s3URL || c.Metadata != pgURL || !c.BlobRedirect || c.MetadataMaxConns != 8 ||
					c.MetadataConnLifetime != 30*time.Minute || c.CacheTTL != 2*time.Second {
					t.Fatalf("got %+v", c)
				}
			}},
		{name: "env twins", env: map[string]string{"BERTH_BLOB_STORE": s3URL, "BERTH_METADATA": "postgresql://h/db", "BERTH_MASTER_KEY_FILE": "/k"},
			check: func(t *testing.T, c Config) {
				if !c.UsesS3() || !c.UsesPostgres() {
					t.Fatalf("got %+v", c)
				}
			}},
		{name: "bad blob scheme", args: []string{"--blob-store", "gs://bucket"}, wantErr: "blob-store"},
		{name: "blob store without bucket", args: []string{"--blob-store", "s3:///x"}, wantErr: "blob-store"},
		{name: "bad metadata scheme", args: []string{"--metadata", "mysql://h/db", "--master-key-file", "/k"}, wantErr: "metadata:"},
		{name: "redirect needs s3", args: []string{"--blob-redirect"}, wantErr: "blob-redirect"},
		{name: "negative conns", args: []string{"--metadata-max-conns", "-1"}, wantErr: "metadata-max-conns"},
		{name: "huge conns", args: []string{"--metadata-max-conns", "100000"}, wantErr: "metadata-max-conns"},
		{name: "not an int", args: []string{"--metadata-max-conns", "many"}, wantErr: "invalid integer"},
		{name: "negative lifetime", args: []string{"--metadata-conn-lifetime", "-1s"}, wantErr: "metadata-conn-lifetime"},
		{name: "negative cache ttl", args: []string{"--cache-ttl", "-1s"}, wantErr: "cache-ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, envMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error repeats the DSN's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// A serving node on PostgreSQL needs the shared master key file; the
// metadata tools, which load the same settings, do not.
func TestValidateNodeNeedsSharedMasterKey(t *testing.T) {
	const pgURL = "postgres://berth:secret@db:5432/berth?sslmode=disable"
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = valid for a node
	}{
		{"postgres without a master key", []string{"--metadata", pgURL}, "master-key-file: required"},
		{"postgres with one", []string{"--metadata", pgURL, "--master-key-file", "/k"}, ""},
		{"sqlite without one", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, envMap(nil))
			if err != nil {
				t.Fatalf("Load (what the tools run): %v", err)
			}
			err = c.ValidateNode()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateNode: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("ValidateNode = %v, want %q without the DSN", err, tc.wantErr)
			}
		})
	}
}
