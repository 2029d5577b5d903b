package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Scale-out store URL schemes.
const (
	schemeS3 = "s3"
)

// UsesS3 reports whether blobs live in S3 (BlobStore is an s3:// URL).
func (c Config) UsesS3() bool { return c.BlobStore != "" }

// UsesPostgres reports whether metadata lives in PostgreSQL.
func (c Config) UsesPostgres() bool { return c.Metadata != "" }

// ValidateNode is Validate plus what a serving node needs beyond the stores
// (the metadata tools, `berth vulndb` and `berth usage`, do not): with a
// PostgreSQL metadata store, a master key file shared by every node.
func (c Config) ValidateNode() error {
	if err := c.Validate(); err != nil {
		return err
	}
	// Secrets sealed by one node must open on every other node, so the
	// master key must be a shared file, never one generated per node.
	if c.UsesPostgres() && c.MasterKeyFile == "" {
		return fmt.Errorf("master-key-file: required with a postgres metadata store: every node must use the same master key file (%s); create one with 32 random bytes, e.g. `head -c 32 /dev/urandom > master.key`", EnvName("master-key-file"))
	}
	return nil
}

// validateScaleOut checks the store settings. Store URLs are only checked
// for their shape here; the stores parse them fully when they open. Error
// messages never repeat a metadata URL, which may hold a password.
func (c Config) validateScaleOut() error {
	if c.BlobStore != "" {
		u, err := url.Parse(c.BlobStore)
		if err != nil || u.Scheme != schemeS3 || u.Host == "" {
			return errors.New("blob-store: want s3://BUCKET/PREFIX?endpoint=URL&region=R&path-style=true, or empty for the filesystem")
		}
	}
	if c.BlobRedirect && !c.UsesS3() {
		return errors.New("blob-redirect: needs an s3:// blob-store (the filesystem store cannot presign)")
	}
	if c.Metadata != "" {
		if !isPostgresURL(c.Metadata) {
			return errors.New("metadata: want postgres://USER@HOST:PORT/DB?sslmode=disable, or empty for SQLite")
		}
	}
	if c.MetadataMaxConns < 0 {
		return fmt.Errorf("metadata-max-conns: must not be negative, got %d", c.MetadataMaxConns)
	}
	if c.MetadataMaxConns > 10000 {
		return fmt.Errorf("metadata-max-conns: %d is unreasonably large", c.MetadataMaxConns)
	}
	if c.MetadataConnLifetime < 0 {
		return fmt.Errorf("metadata-conn-lifetime: must not be negative, got %s", c.MetadataConnLifetime)
	}
	if c.CacheTTL < 0 {
		return fmt.Errorf("cache-ttl: must not be negative, got %s", c.CacheTTL)
	}
	return nil
}

func isPostgresURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && (scheme == "postgres" || scheme == "postgresql")
}
