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

// A node on PostgreSQL refuses to start without the shared master key file,
// before it reaches the database.
func TestNewNeedsSharedMasterKeyFile(t *testing.T) {
	c := testConfig(t)
	c.Metadata = "postgres://berth:pw@127.0.0.1:1/berth?sslmode=disable"
	c.MasterKeyFile = filepath.Join(t.TempDir(), "missing.key")
	_, err := New(context.Background(), c, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "every node must share one master key file") || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("New = %v, want the master key error without the DSN", err)
	}
}

func TestOpenStores(t *testing.T) {
	tests := []struct {
		name    string
		adjust  func(c *config.Config)
		wantErr string
		wantTTL time.Duration
	}{
		{name: "embedded default", adjust: func(*config.Config) {}},
		{name: "explicit cache ttl", adjust: func(c *config.Config) { c.CacheTTL = 2 * time.Second }, wantTTL: 2 * time.Second},
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
