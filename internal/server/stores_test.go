package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/meta/sqlite"
)

func TestOpenStores(t *testing.T) {
	tests := []struct {
		name    string
		adjust  func(c *config.Config)
		wantErr string
		wantTTL time.Duration
	}{
		{name: "embedded default", adjust: func(*config.Config) {}},
		{name: "explicit cache ttl", adjust: func(c *config.Config) { c.CacheTTL = 2 * time.Second }, wantTTL: 2 * time.Second},
		{name: "postgres without a shared master key file", adjust: func(c *config.Config) {
			c.Metadata = "postgres://berth:pw@127.0.0.1:1/berth?sslmode=disable"
			c.MasterKeyFile = filepath.Join(t.TempDir(), "missing.key")
		}, wantErr: "every node must share one master key file"},
		{name: "bad s3 url", adjust: func(c *config.Config) {
			c.BlobStore = "s3://bucket/prefix?colour=blue"
		}, wantErr: "blob-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.DataDir = t.TempDir()
			tc.adjust(&c)
			st, err := openStores(context.Background(), c, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Fatalf("error repeats the DSN: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.meta.Close()
			if _, ok := st.meta.(*sqlite.Store); !ok {
				t.Errorf("metadata store %T, want SQLite", st.meta)
			}
			if _, ok := st.blobs.(*fs.Store); !ok {
				t.Errorf("blob store %T, want the filesystem", st.blobs)
			}
			if st.cacheTTL != tc.wantTTL || st.presign != nil {
				t.Errorf("cacheTTL %s presign %v, want %s and none", st.cacheTTL, st.presign, tc.wantTTL)
			}
		})
	}
}
