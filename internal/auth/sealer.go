package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeySize is the size of the master key and of the AES-256 key.
const MasterKeySize = 32

const sealVersion = 1

// Sealer encrypts small secrets (secret access keys) for storage with
// AES-256-GCM and a random nonce. Sealed form: version | nonce | ciphertext+tag.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer using a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("auth: sealer key is %d bytes, need %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth: sealer cipher: %w", err)
	}
	// Random 96-bit nonces: safe for far more seals than a registry makes.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("auth: sealer GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out := make([]byte, 1, 1+s.aead.Overhead()+len(plaintext))
	out[0] = sealVersion
	// The version byte is authenticated so it cannot be swapped later.
	return s.aead.Seal(out, nil, plaintext, out[:1]), nil
}

// Open decrypts what Seal produced, failing if it was altered or sealed
// under another key.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < 1+s.aead.Overhead() {
		return nil, errors.New("auth: sealed value too short")
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("auth: sealed value has unknown version %d", sealed[0])
	}
	pt, err := s.aead.Open(nil, nil, sealed[1:], sealed[:1])
	if err != nil {
		return nil, fmt.Errorf("auth: open sealed value: %w", err)
	}
	return pt, nil
}

// DeriveKey derives an independent 32-byte key for purpose (e.g.
// "login-token", "secrets") from the master key with HKDF-SHA256, so one
// master key file serves every use without reusing a key across them.
func DeriveKey(master []byte, purpose string) ([]byte, error) {
	if len(master) < MasterKeySize {
		return nil, fmt.Errorf("auth: master key is %d bytes, need at least %d", len(master), MasterKeySize)
	}
	k, err := hkdf.Key(sha256.New, master, nil, "berth "+purpose, MasterKeySize)
	if err != nil {
		return nil, fmt.Errorf("auth: derive %s key: %w", purpose, err)
	}
	return k, nil
}

// LoadOrCreateKeyFile returns the 32-byte master key stored at path, creating
// it with crypto/rand (mode 0600) if the file does not exist. The file holds
// the key as 64 hex characters (a trailing newline is fine) or as 32 raw
// bytes. Creation is atomic: concurrent starters all end up with the key of
// whichever created the file first.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("auth: generate master key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".berth-key-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create master key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	// CreateTemp makes the file 0600 already; be explicit, it is a secret.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: create master key: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: write master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: sync master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("auth: close master key: %w", err)
	}
	// Link, unlike rename, fails if path appeared meanwhile: never replace a
	// key another process may already have used to seal secrets.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("auth: install master key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: persist the new directory entry
		d.Close()
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read master key: %w", err)
	}
	if len(b) == MasterKeySize {
		return b, nil
	}
	text := bytes.TrimSpace(b)
	if len(text) == 2*MasterKeySize {
		key := make([]byte, MasterKeySize)
		if _, err := hex.Decode(key, text); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("auth: master key file %s must hold %d raw bytes or %d hex characters", path, MasterKeySize, 2*MasterKeySize)
}
