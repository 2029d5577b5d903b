package identity_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/identity"
	"github.com/berth-registry/berth/internal/meta"
	"github.com/berth-registry/berth/internal/meta/sqlite"
)

// node is one server start over a shared data directory.
type node struct {
	id       *identity.Identity
	err      error
	announce string
	logs     string
}

type dataDir struct {
	t    *testing.T
	dir  string
	meta meta.Store
}

func newDataDir(t *testing.T) *dataDir {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlite.Open(context.Background(), filepath.Join(dir, "metadata.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &dataDir{t: t, dir: dir, meta: m}
}

func (d *dataDir) start(cfg identity.Config) node {
	d.t.Helper()
	var announce, logs bytes.Buffer
	if cfg.MasterKeyFile == "" {
		cfg.MasterKeyFile = filepath.Join(d.dir, "master.key")
	}
	cfg.Announce = &announce
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	id, err := identity.Bootstrap(context.Background(), d.meta, cfg)
	return node{id: id, err: err, announce: announce.String(), logs: logs.String()}
}

var announced = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(AKIA[A-Z0-9]{16})\n  AWS_SECRET_ACCESS_KEY=([A-Za-z0-9+/]{40})\n`)

func lookupSecret(t *testing.T, id *identity.Identity, keyID string) string {
	t.Helper()
	k, err := id.LookupAccessKey(context.Background(), keyID)
	if err != nil {
		t.Fatalf("lookup %s: %v", keyID, err)
	}
	if k.Status != auth.KeyActive || !k.Owner.IsRoot || k.Owner.ARN != "arn:aws:iam::"+id.AccountID()+":root" || k.Owner.AccountID != id.AccountID() {
		t.Fatalf("key %+v", k)
	}
	return k.Secret
}

func TestBootstrapGeneratesOnceAndPersists(t *testing.T) {
	d := newDataDir(t)
	first := d.start(identity.Config{})
	if first.err != nil {
		t.Fatal(first.err)
	}
	if err := identity.ValidateAccountID(first.id.AccountID()); err != nil {
		t.Fatal(err)
	}
	m := announced.FindStringSubmatch(first.announce)
	if m == nil {
		t.Fatalf("first start did not announce the root key:\n%s", first.announce)
	}
	keyID, secret := m[1], m[2]
	if first.id.RootAccessKeyID() != keyID || lookupSecret(t, first.id, keyID) != secret {
		t.Fatal("announced key is not the root key")
	}
	if strings.Contains(first.logs, secret) {
		t.Fatalf("secret in logs:\n%s", first.logs)
	}
	if fi, err := os.Stat(filepath.Join(d.dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", fi, err)
	}
	// Stored sealed: the secret is not in the metadata store in the clear.
	raw, err := d.meta.GetSetting(context.Background(), identity.SettingRootAccessKey)
	if err != nil || bytes.Contains(raw, []byte(secret)) || !bytes.Contains(raw, []byte(keyID)) {
		t.Fatalf("stored root key %q (%v)", raw, err)
	}

	second := d.start(identity.Config{})
	if second.err != nil {
		t.Fatal(second.err)
	}
	if second.announce != "" {
		t.Fatalf("second start announced again:\n%s", second.announce)
	}
	if strings.Contains(second.logs, secret) {
		t.Fatal("secret in logs on restart")
	}
	if second.id.AccountID() != first.id.AccountID() || second.id.RootAccessKeyID() != keyID || lookupSecret(t, second.id, keyID) != secret {
		t.Fatal("restart did not load the same identity")
	}
	if _, err := second.id.LookupAccessKey(context.Background(), "AKIAUNKNOWNKEY000000"); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Fatalf("unknown key: %v", err)
	}

	// Login tokens minted before a restart verify after it.
	tok, _ := first.id.Tokens().MintLoginToken(first.id.RootPrincipal(), keyID, time.Now())
	p, err := second.id.Tokens().VerifyLoginToken(context.Background(), tok)
	if err != nil || !p.IsRoot || p.AccessKeyID != keyID {
		t.Fatalf("token across restart: %+v %v", p, err)
	}
}

func TestBootstrapOverrides(t *testing.T) {
	const envKey, envSecret = "AKIAENVIRONMENT00001", "envSecretAccessKey/0123456789+abcdefghij"
	tests := []struct {
		name    string
		cfgs    []identity.Config // successive starts on one data dir
		wantErr string            // for the last start
		check   func(t *testing.T, starts []node)
	}{
		{name: "account id flag", cfgs: []identity.Config{{AccountID: "123456789012"}, {}},
			check: func(t *testing.T, s []node) {
				if s[0].id.AccountID() != "123456789012" || s[1].id.AccountID() != "123456789012" {
					t.Fatalf("account ids %s, %s", s[0].id.AccountID(), s[1].id.AccountID())
				}
			}},
		{name: "account id flag replaces stored", cfgs: []identity.Config{{}, {AccountID: "210987654321"}, {}},
			check: func(t *testing.T, s []node) {
				if s[1].id.AccountID() != "210987654321" || s[2].id.AccountID() != "210987654321" {
					t.Fatalf("account ids %s, %s", s[1].id.AccountID(), s[2].id.AccountID())
				}
				if s[1].id.RootAccessKeyID() != s[0].id.RootAccessKeyID() {
					t.Fatal("root key changed with the account id")
				}
			}},
		{name: "bad account id", cfgs: []identity.Config{{AccountID: "12345"}}, wantErr: "12 digits"},
		{name: "env root key", cfgs: []identity.Config{{RootAccessKeyID: envKey, RootSecretAccessKey: envSecret}, {}},
			check: func(t *testing.T, s []node) {
				for i, n := range s {
					if n.announce != "" {
						t.Fatalf("start %d announced a key", i)
					}
					if n.id.RootAccessKeyID() != envKey || lookupSecret(t, n.id, envKey) != envSecret {
						t.Fatalf("start %d: root key %s", i, n.id.RootAccessKeyID())
					}
					if strings.Contains(n.logs, envSecret) {
						t.Fatalf("start %d logged the secret", i)
					}
				}
			}},
		{name: "env root key replaces generated", cfgs: []identity.Config{{}, {RootAccessKeyID: envKey, RootSecretAccessKey: envSecret}, {}},
			check: func(t *testing.T, s []node) {
				old := s[0].id.RootAccessKeyID()
				if s[2].id.RootAccessKeyID() != envKey {
					t.Fatalf("root key %s", s[2].id.RootAccessKeyID())
				}
				if _, err := s[2].id.LookupAccessKey(context.Background(), old); !errors.Is(err, auth.ErrKeyNotFound) {
					t.Fatal("the replaced key still works")
				}
			}},
		{name: "env key id without secret", cfgs: []identity.Config{{RootAccessKeyID: envKey}}, wantErr: "together"},
		{name: "env key id malformed", cfgs: []identity.Config{{RootAccessKeyID: "short", RootSecretAccessKey: envSecret}}, wantErr: "access key id"},
		{name: "env secret malformed", cfgs: []identity.Config{{RootAccessKeyID: envKey, RootSecretAccessKey: "has a space in it!!"}}, wantErr: "secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDataDir(t)
			var starts []node
			for i, cfg := range tc.cfgs {
				n := d.start(cfg)
				last := i == len(tc.cfgs)-1
				if last && tc.wantErr != "" {
					if n.err == nil || !strings.Contains(n.err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", n.err, tc.wantErr)
					}
					return
				}
				if n.err != nil {
					t.Fatalf("start %d: %v", i, n.err)
				}
				starts = append(starts, n)
			}
			tc.check(t, starts)
		})
	}
}

func TestBootstrapWrongMasterKey(t *testing.T) {
	d := newDataDir(t)
	if n := d.start(identity.Config{}); n.err != nil {
		t.Fatal(n.err)
	}
	other := d.start(identity.Config{MasterKeyFile: filepath.Join(t.TempDir(), "other.key")})
	if other.err == nil || !strings.Contains(other.err.Error(), "master key") {
		t.Fatalf("err = %v, want a master key mismatch", other.err)
	}
}

// TestBootstrapConcurrentNodes: nodes starting at once on one store agree
// on one account id and one root key, announced by exactly one of them.
func TestBootstrapConcurrentNodes(t *testing.T) {
	d := newDataDir(t)
	const n = 6
	nodes := make([]node, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i] = d.start(identity.Config{})
		}()
	}
	wg.Wait()
	announcers := 0
	for i, nd := range nodes {
		if nd.err != nil {
			t.Fatalf("node %d: %v", i, nd.err)
		}
		if nd.announce != "" {
			announcers++
		}
		if nd.id.AccountID() != nodes[0].id.AccountID() || nd.id.RootAccessKeyID() != nodes[0].id.RootAccessKeyID() {
			t.Fatalf("node %d disagrees", i)
		}
	}
	if announcers != 1 {
		t.Fatalf("%d nodes announced the root key, want 1", announcers)
	}
}
