// Package identity bootstraps who the registry is and who may call it: the
// account id (the registryId in every ARN), the server master key (which
// seals secrets at rest and derives the login-token key) and the account's
// root access key.
//
// The account id and the sealed root key live in the metadata store's
// settings, so every node of a deployment shares them; the master key is a
// file every node must be given. Identity implements auth.KeyLookup over
// them: the root key and IAM users' access keys (iam.go).
package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/meta"
)

// Settings keys in the metadata store.
const (
	SettingAccountID     = "identity.account-id"
	SettingRootAccessKey = "identity.root-access-key"
)

// Key derivation purposes (auth.DeriveKey).
const (
	PurposeSecrets     = "secrets"
	PurposeLoginTokens = "login-tokens"
)

// Config says how to bootstrap.
type Config struct {
	// AccountID, when set, is the 12-digit account id to use (and persist);
	// otherwise the stored one is used, or one is generated once.
	AccountID string
	// MasterKeyFile holds the master key; it is created if missing.
	MasterKeyFile string
	// RootAccessKeyID and RootSecretAccessKey, when both set, are the root
	// access key (stored, replacing any other); otherwise the stored key is
	// used, or one is generated once and announced.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// Announce receives the generated root credentials, once, at the first
	// start (typically stderr). It is never a logger. nil discards them.
	Announce io.Writer
	// Logger receives bootstrap events (never a secret).
	Logger *slog.Logger
}

// Identity is the bootstrapped identity. It is safe for concurrent use.
type Identity struct {
	accountID string
	master    []byte
	root      auth.AccessKey
	tokens    *auth.LoginTokens
	// store and sealer hold IAM users' access keys (iam.go).
	store  meta.Store
	sealer *auth.Sealer
}

var _ auth.KeyLookup = (*Identity)(nil)

// storedKey is the root access key as stored: the secret sealed with the
// "secrets" key derived from the master key.
type storedKey struct {
	AccessKeyID  string    `json:"accessKeyId"`
	SealedSecret []byte    `json:"sealedSecret"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Bootstrap loads or creates the identity in store.
func Bootstrap(ctx context.Context, store meta.Store, cfg Config) (*Identity, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MasterKeyFile == "" {
		return nil, errors.New("identity: no master key file configured")
	}
	master, err := auth.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("identity: master key: %w", err)
	}
	sealKey, err := auth.DeriveKey(master, PurposeSecrets)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	sealer, err := auth.NewSealer(sealKey)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}

	id := &Identity{master: master, store: store, sealer: sealer}
	if id.accountID, err = loadAccountID(ctx, store, cfg.AccountID, log); err != nil {
		return nil, err
	}
	keyID, secret, err := loadRootKey(ctx, store, sealer, cfg, log)
	if err != nil {
		return nil, err
	}
	id.root = auth.AccessKey{ID: keyID, Secret: secret, Status: auth.KeyActive, Owner: id.RootPrincipal()}

	tokenKey, err := auth.DeriveKey(master, PurposeLoginTokens)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if id.tokens, err = auth.NewLoginTokens(tokenKey, id); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	log.InfoContext(ctx, "identity ready", "account_id", id.accountID, "root_access_key_id", keyID)
	return id, nil
}

// AccountID is the 12-digit account id.
func (id *Identity) AccountID() string { return id.accountID }

// RootAccessKeyID is the root access key's id (not a secret).
func (id *Identity) RootAccessKeyID() string { return id.root.ID }

// RootPrincipal is the account root.
func (id *Identity) RootPrincipal() auth.Principal {
	return auth.Principal{
		ARN:       "arn:aws:iam::" + id.accountID + ":root",
		UserID:    id.accountID,
		AccountID: id.accountID,
		IsRoot:    true,
	}
}

// Tokens mints and verifies registry login tokens.
func (id *Identity) Tokens() *auth.LoginTokens { return id.tokens }

// DeriveKey derives a key for purpose from the master key.
func (id *Identity) DeriveKey(purpose string) ([]byte, error) {
	return auth.DeriveKey(id.master, purpose)
}

// LookupAccessKey implements auth.KeyLookup: the root key, then IAM users'
// keys in the metadata store (iam.go).
func (id *Identity) LookupAccessKey(ctx context.Context, accessKeyID string) (auth.AccessKey, error) {
	if accessKeyID != "" && accessKeyID == id.root.ID {
		return id.root, nil
	}
	return id.lookupUserKey(ctx, accessKeyID)
}

// ValidateAccountID checks a 12-digit account id.
func ValidateAccountID(s string) error {
	if len(s) != 12 || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("account id %q must be exactly 12 digits", s)
	}
	return nil
}

func loadAccountID(ctx context.Context, store meta.Store, want string, log *slog.Logger) (string, error) {
	if want != "" {
		if err := ValidateAccountID(want); err != nil {
			return "", fmt.Errorf("identity: %w", err)
		}
	}
	stored, err := store.GetSetting(ctx, SettingAccountID)
	switch {
	case err == nil:
		if want == "" || string(stored) == want {
			if err := ValidateAccountID(string(stored)); err != nil {
				return "", fmt.Errorf("identity: stored %w", err)
			}
			return string(stored), nil
		}
		if err := store.PutSetting(ctx, SettingAccountID, []byte(want)); err != nil {
			return "", fmt.Errorf("identity: store account id: %w", err)
		}
		log.WarnContext(ctx, "account id changed: ARNs and existing login tokens of the old id no longer apply",
			"old_account_id", string(stored), "account_id", want)
		return want, nil
	case !errors.Is(err, meta.ErrNotFound):
		return "", fmt.Errorf("identity: read account id: %w", err)
	}
	requested := want
	generated := want == ""
	if generated {
		if want, err = randomString(1, "123456789"); err != nil {
			return "", err
		}
		rest, err := randomString(11, "0123456789")
		if err != nil {
			return "", err
		}
		want += rest
	}
	if err := store.CreateSetting(ctx, SettingAccountID, []byte(want)); err != nil {
		if errors.Is(err, meta.ErrExists) { // another node won the race
			return loadAccountID(ctx, store, requested, log)
		}
		return "", fmt.Errorf("identity: store account id: %w", err)
	}
	if generated {
		log.InfoContext(ctx, "generated the account id", "account_id", want)
	}
	return want, nil
}

// Access key formats: AWS-style ids and secrets.
const (
	keyIDAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// validateRootKey checks credentials given in the environment.
func validateRootKey(keyID, secret string) error {
	if n := len(keyID); n < 16 || n > 128 || strings.Trim(keyID, keyIDAlphabet) != "" {
		return errors.New("root access key id must be 16 to 128 characters of A-Z and 0-9")
	}
	if n := len(secret); n < 16 || n > 128 || strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errors.New("root secret access key must be 16 to 128 printable ASCII characters without spaces")
	}
	return nil
}

func loadRootKey(ctx context.Context, store meta.Store, sealer *auth.Sealer, cfg Config, log *slog.Logger) (keyID, secret string, err error) {
	fromEnv := cfg.RootAccessKeyID != "" || cfg.RootSecretAccessKey != ""
	if fromEnv {
		if cfg.RootAccessKeyID == "" || cfg.RootSecretAccessKey == "" {
			return "", "", errors.New("identity: the root access key id and secret access key must be given together")
		}
		if err := validateRootKey(cfg.RootAccessKeyID, cfg.RootSecretAccessKey); err != nil {
			return "", "", fmt.Errorf("identity: %w", err)
		}
	}

	stored, err := readRootKey(ctx, store, sealer)
	switch {
	case err == nil:
		if !fromEnv || (stored.AccessKeyID == cfg.RootAccessKeyID && stored.secret == cfg.RootSecretAccessKey) {
			return stored.AccessKeyID, stored.secret, nil
		}
	case !errors.Is(err, meta.ErrNotFound):
		return "", "", err
	}

	if fromEnv {
		rec, err := sealRootKey(sealer, cfg.RootAccessKeyID, cfg.RootSecretAccessKey)
		if err != nil {
			return "", "", err
		}
		if err := store.PutSetting(ctx, SettingRootAccessKey, rec); err != nil {
			return "", "", fmt.Errorf("identity: store root access key: %w", err)
		}
		log.InfoContext(ctx, "root access key set from the environment", "root_access_key_id", cfg.RootAccessKeyID)
		return cfg.RootAccessKeyID, cfg.RootSecretAccessKey, nil
	}

	// First start: generate, and announce only if this node's key won.
	suffix, err := randomString(16, keyIDAlphabet)
	if err != nil {
		return "", "", err
	}
	keyID = "AKIA" + suffix
	if secret, err = randomString(40, secretAlphabet); err != nil {
		return "", "", err
	}
	rec, err := sealRootKey(sealer, keyID, secret)
	if err != nil {
		return "", "", err
	}
	if err := store.CreateSetting(ctx, SettingRootAccessKey, rec); err != nil {
		if errors.Is(err, meta.ErrExists) {
			stored, err := readRootKey(ctx, store, sealer)
			if err != nil {
				return "", "", err
			}
			return stored.AccessKeyID, stored.secret, nil
		}
		return "", "", fmt.Errorf("identity: store root access key: %w", err)
	}
	log.InfoContext(ctx, "generated the root access key; its secret was printed once to stderr", "root_access_key_id", keyID)
	if cfg.Announce != nil {
		fmt.Fprintf(cfg.Announce, "\nberth: generated the root access key. It is shown only this once; store it safely:\n"+
			"  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n\n", keyID, secret)
	}
	return keyID, secret, nil
}

type openedKey struct {
	storedKey
	secret string
}

func readRootKey(ctx context.Context, store meta.Store, sealer *auth.Sealer) (openedKey, error) {
	b, err := store.GetSetting(ctx, SettingRootAccessKey)
	if err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return openedKey{}, err
		}
		return openedKey{}, fmt.Errorf("identity: read root access key: %w", err)
	}
	var k openedKey
	if err := json.Unmarshal(b, &k.storedKey); err != nil || k.AccessKeyID == "" {
		return openedKey{}, fmt.Errorf("identity: stored root access key is corrupt")
	}
	secret, err := sealer.Open(k.SealedSecret)
	if err != nil {
		return openedKey{}, fmt.Errorf("identity: cannot open the stored root secret; is this the master key it was sealed with? %w", err)
	}
	k.secret = string(secret)
	return k, nil
}

func sealRootKey(sealer *auth.Sealer, keyID, secret string) ([]byte, error) {
	sealed, err := sealer.Seal([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("identity: seal root secret: %w", err)
	}
	b, err := json.Marshal(storedKey{AccessKeyID: keyID, SealedSecret: sealed, CreatedAt: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("identity: encode root access key: %w", err)
	}
	return b, nil
}

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("identity: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
