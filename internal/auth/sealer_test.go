package auth

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, []byte("x"), []byte(testSecret), bytes.Repeat([]byte{0xff}, 4096)} {
		sealed, err := s.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		// Short plaintexts can occur in random bytes by chance; long ones cannot.
		if len(pt) >= 16 && bytes.Contains(sealed, pt) {
			t.Fatal("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
	a, _ := s.Seal([]byte(testSecret))
	b, _ := s.Seal([]byte(testSecret))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical (nonce reuse)")
	}
}

func TestSealerOpenRejects(t *testing.T) {
	s, _ := NewSealer(bytes.Repeat([]byte{1}, 32))
	other, _ := NewSealer(bytes.Repeat([]byte{2}, 32))
	good, _ := s.Seal([]byte(testSecret))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	fromOther, _ := other.Seal([]byte(testSecret))
	cases := map[string][]byte{
		"empty":             nil,
		"short":             good[:10],
		"version":           flip(0),
		"nonce":             flip(1),
		"ciphertext":        flip(20),
		"tag":               flip(len(good) - 1),
		"truncated":         good[:len(good)-1],
		"sealed by another": fromOther,
	}
	for name, sealed := range cases {
		t.Run(name, func(t *testing.T) {
			if pt, err := s.Open(sealed); err == nil {
				t.Fatalf("Open accepted %s value: %q", name, pt)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	master := bytes.Repeat([]byte{3}, 32)
	a, err := DeriveKey(master, "login-token")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DeriveKey(master, "login-token")
	b, _ := DeriveKey(master, "secrets")
	if len(a) != 32 || !bytes.Equal(a, a2) || bytes.Equal(a, b) || bytes.Equal(a, master) {
		t.Fatal("derived keys must be 32 bytes, deterministic, and distinct per purpose and from the master")
	}
	if _, err := DeriveKey(master[:16], "x"); err == nil {
		t.Fatal("accepted a short master key")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	key, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("generated key %x", key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %o, want 600", perm)
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("reload = %x, %v; want %x", again, err, key)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadKeyFileFormats(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	cases := []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"raw", key, true},
		{"hex", []byte(hex.EncodeToString(key)), true},
		{"hex newline", []byte(hex.EncodeToString(key) + "\n"), true},
		{"short", key[:31], false},
		{"bad hex", []byte(hex.EncodeToString(key)[:62] + "zz"), false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadOrCreateKeyFile(path)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && !bytes.Equal(got, key) {
				t.Fatalf("key = %x", got)
			}
			if !c.ok {
				if b, _ := os.ReadFile(path); !bytes.Equal(b, c.content) {
					t.Fatal("an unreadable key file was overwritten")
				}
			}
		})
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("starter %d got a different key", i)
		}
	}
}
