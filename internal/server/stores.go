package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-registry/berth/internal/blob"
	"github.com/berth-registry/berth/internal/blob/fs"
	"github.com/berth-registry/berth/internal/blob/s3"
	"github.com/berth-registry/berth/internal/config"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/postgres"
	"github.com/berth-registry/berth/internal/meta/sqlite"
)

// sharedCacheTTL is the core's cache TTL when several nodes write the same
// metadata store: a tag moved by another node is seen within it.
const sharedCacheTTL = 3 * time.Second

// storeOpenTimeout bounds connecting to remote stores at start-up.
const storeOpenTimeout = 60 * time.Second

// stores are the metadata and blob stores a node serves from.
type stores struct {
	meta  meta.Store
	blobs blob.Store
	// cacheTTL is the core's registry.Config.CacheTTL.
	cacheTTL time.Duration
	// presign is set when blob downloads may redirect to presigned URLs.
	presign presigner
}

// presigner is a blob store that can hand out time-limited download URLs.
type presigner interface {
	PresignGet(ctx context.Context, dgst digest.Digest, ttl time.Duration) (string, error)
}

// openStores opens the stores cfg selects: SQLite and the filesystem under
// DataDir by default, PostgreSQL (--metadata) and S3 (--blob-store) for a
// deployment of several nodes.
func openStores(ctx context.Context, cfg config.Config, log *slog.Logger) (*stores, error) {
	st := &stores{cacheTTL: cfg.CacheTTL}
	var err error
	if st.meta, err = openMeta(ctx, cfg, log); err != nil {
		return nil, err
	}
	if cfg.UsesPostgres() && st.cacheTTL == 0 {
		st.cacheTTL = sharedCacheTTL
	}
	if st.blobs, err = openBlobs(ctx, cfg, log); err != nil {
		return nil, errors.Join(err, st.meta.Close())
	}
	if p, ok := st.blobs.(presigner); ok && cfg.BlobRedirect {
		st.presign = p
	}
	log.Info("stores open", "metadata", metaKind(cfg), "blobs", blobKind(cfg), "cache_ttl", st.cacheTTL.String(),
		"blob_redirect", st.presign != nil)
	return st, nil
}

// requireSharedMasterKey refuses to start a node on PostgreSQL whose master
// key file does not exist yet: the node would create a key of its own, and
// secrets sealed by one node would not open on another. The metadata tools
// (berth usage, berth vulndb) seal nothing and need no key.
func requireSharedMasterKey(cfg config.Config) error {
	if !cfg.UsesPostgres() {
		return nil
	}
	if _, err := os.Stat(cfg.MasterKeyPath()); err != nil {
		return fmt.Errorf("master key file: with a postgres metadata store every node must share one master key file, created beforehand (e.g. head -c 32 /dev/urandom > master.key): %w", err)
	}
	return nil
}

func metaKind(cfg config.Config) string {
	if cfg.UsesPostgres() {
		return "postgres"
	}
	return "sqlite"
}

func blobKind(cfg config.Config) string {
	if cfg.UsesS3() {
		return "s3"
	}
	return "filesystem"
}

func openMeta(ctx context.Context, cfg config.Config, log *slog.Logger) (meta.Store, error) {
	if !cfg.UsesPostgres() {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		m, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "metadata.db"))
		if err != nil {
			return nil, fmt.Errorf("open metadata store: %w", err)
		}
		return m, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	// The DSN may hold a password: postgres.Open never repeats it in errors.
	m, err := postgres.Open(ctx, cfg.Metadata, postgres.Options{
		MaxConns:        int32(cfg.MetadataMaxConns), // bounded by config validation
		MaxConnLifetime: cfg.MetadataConnLifetime,
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("open metadata store (postgres): %w", err)
	}
	return m, nil
}

func openBlobs(ctx context.Context, cfg config.Config, log *slog.Logger) (blob.Store, error) {
	if !cfg.UsesS3() {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		b, err := fs.New(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("open blob store: %w", err)
		}
		return b, nil
	}
	s3cfg, err := s3.ParseURL(cfg.BlobStore)
	if err != nil {
		return nil, fmt.Errorf("blob-store: %w", err)
	}
	s3cfg.Logger = log
	ctx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	b, err := s3.New(ctx, s3cfg)
	if err != nil {
		return nil, fmt.Errorf("open blob store (s3): %w", err)
	}
	return b, nil
}
