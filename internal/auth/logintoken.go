package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// LoginTokenTTL is how long a registry login token is valid, as in ECR.
	LoginTokenTTL = 12 * time.Hour
	// DefaultKeyCacheTTL bounds how long a deactivated or deleted access key's
	// login tokens keep working on a node that has the key cached.
	DefaultKeyCacheTTL = 30 * time.Second
	// LoginTokenKeySize is the minimum size of the token signing key.
	LoginTokenKeySize = 32

	loginTokenVersion = 1
	loginTokenMACSize = sha256.Size
	// maxLoginTokenLen bounds the text we decode; a token holds an ARN (IAM
	// caps them at 2048) and a key ID, so real ones are far shorter.
	maxLoginTokenLen = 8 << 10
	maxKeyCacheSize  = 4096
	// maxParsedTokens bounds the parsed-header cache: ~1.5 MiB with
	// typical ARNs, ~20 MiB if every token carried a 2048-byte one. Only
	// tokens this server minted (valid MACs) get in.
	maxParsedTokens = 4096
	// loginTokenContext separates these MACs from any other use of the key.
	loginTokenContext = "berth-login-token\x00"
)

// Strict, and CR/LF refused in parse, so each token has exactly one spelling.
var loginTokenEncoding = base64.RawURLEncoding.Strict()

// LoginTokens mints and verifies registry login tokens: the password that
// GetAuthorizationToken hands out and /v2 accepts as Basic AWS:<token>.
//
// A token is stateless: base64url(version | issued-at | expires-at | key ID |
// principal ARN | HMAC-SHA256). Verifying one costs a decode, one HMAC and a
// constant-time compare, plus a cached check that the minting access key
// still exists and is Active, so deactivating a key revokes its tokens
// within CacheTTL on every node (immediately on a node that calls Forget).
type LoginTokens struct {
	// Keys finds the minting access key on verification.
	Keys KeyLookup
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// CacheTTL is how long a looked-up key is trusted; 0 means
	// DefaultKeyCacheTTL and a negative value disables the cache.
	CacheTTL time.Duration

	key  []byte
	macs sync.Pool // of hash.Hash keyed with key; hmac.New costs ~5 allocs

	mu    sync.RWMutex
	cache map[string]cachedKey

	// parsed remembers, per Authorization header value, the claims of a
	// login token whose MAC and structure checked out (VerifyBasicAuth): a
	// client sends the same header with every request, and this spares
	// each one the Basic decode, the token decode and an HMAC. Expiry and
	// the minting key are checked on every use.
	parsedMu sync.RWMutex
	parsed   map[string]parsedToken
}

type parsedToken struct {
	issued, expires time.Time
	keyID, arn      string
}

type cachedKey struct {
	key       AccessKey // Secret and SessionToken are not kept
	fetchedAt time.Time
}

// NewLoginTokens returns a minter/verifier using key (at least 32 bytes,
// e.g. DeriveKey(master, "login-token")) and keys to check minting keys.
func NewLoginTokens(key []byte, keys KeyLookup) (*LoginTokens, error) {
	if len(key) < LoginTokenKeySize {
		return nil, fmt.Errorf("auth: login token key is %d bytes, need at least %d", len(key), LoginTokenKeySize)
	}
	if keys == nil {
		return nil, errors.New("auth: login tokens need a KeyLookup")
	}
	t := &LoginTokens{Keys: keys, key: append([]byte(nil), key...), cache: make(map[string]cachedKey),
		parsed: make(map[string]parsedToken)}
	t.macs.New = func() any { return hmac.New(sha256.New, t.key) }
	return t, nil
}

// MintLoginToken returns a token for principal p, minted with access key
// keyID at now, and its expiry (now + 12 h, whole seconds).
func (t *LoginTokens) MintLoginToken(p Principal, keyID string, now time.Time) (string, time.Time) {
	issued := now.Truncate(time.Second)
	expires := issued.Add(LoginTokenTTL)
	buf := make([]byte, 0, 1+8+8+2*binary.MaxVarintLen64+len(keyID)+len(p.ARN)+loginTokenMACSize)
	buf = append(buf, loginTokenVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(issued.Unix()))
	buf = binary.BigEndian.AppendUint64(buf, uint64(expires.Unix()))
	buf = binary.AppendUvarint(buf, uint64(len(keyID)))
	buf = append(buf, keyID...)
	buf = binary.AppendUvarint(buf, uint64(len(p.ARN)))
	buf = append(buf, p.ARN...)
	buf = t.appendMAC(buf, buf)
	return loginTokenEncoding.EncodeToString(buf), expires
}

// loginToken is a decoded, MAC-verified token. The byte slices alias the
// decode buffer.
type loginToken struct {
	issued, expires time.Time
	keyID, arn      []byte
}

// ErrNoBasicAuth is VerifyBasicAuth's answer to a request without HTTP
// Basic credentials.
var ErrNoBasicAuth = errors.New("auth: no basic credentials")

// VerifyBasicAuth checks a request's "Authorization: Basic user:token"
// header, the way /v2 receives login tokens (docker login -u AWS), and
// returns the principal that owns the minting key. No Basic credentials is
// ErrNoBasicAuth; another user name, an empty or a bad token are *Error
// with ReasonInvalidLoginToken, as from VerifyLoginToken.
func (t *LoginTokens) VerifyBasicAuth(r *http.Request, user string) (*Principal, error) {
	header := r.Header.Get("Authorization")
	t.parsedMu.RLock()
	tok, ok := t.parsed[header]
	t.parsedMu.RUnlock()
	if !ok {
		u, token, ok := ParseBasicAuth(r)
		if !ok {
			return nil, ErrNoBasicAuth
		}
		if u != user || token == "" {
			return nil, errInvalidLoginToken()
		}
		if tok, ok = t.claims(token); !ok {
			return nil, errInvalidLoginToken()
		}
		t.parsedMu.Lock()
		if len(t.parsed) >= maxParsedTokens {
			// Only MAC-valid tokens enter: a reset when full is rare.
			clear(t.parsed)
		}
		t.parsed[header] = tok
		t.parsedMu.Unlock()
	}
	return t.verify(r.Context(), tok)
}

// VerifyLoginToken checks token and returns the principal that owns the
// minting key. Client failures are *Error with ReasonInvalidLoginToken; any
// other error is an internal failure of the key lookup. The server verifies
// through VerifyBasicAuth; this is the entry point for a bare token.
func (t *LoginTokens) VerifyLoginToken(ctx context.Context, token string) (*Principal, error) {
	tok, ok := t.claims(token)
	if !ok {
		return nil, errInvalidLoginToken()
	}
	return t.verify(ctx, tok)
}

// verify checks a parsed token's expiry and its minting key.
func (t *LoginTokens) verify(ctx context.Context, tok parsedToken) (*Principal, error) {
	now := t.now()
	if !now.Before(tok.expires) || tok.issued.After(now.Add(MaxClockSkew)) {
		return nil, errExpiredLoginToken()
	}
	key, err := t.lookup(ctx, tok.keyID, now)
	if errors.Is(err, ErrKeyNotFound) {
		return nil, errExpiredLoginToken()
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up login token key: %w", err)
	}
	if key.usable(now) != 0 || key.Owner.ARN != tok.arn {
		return nil, errExpiredLoginToken()
	}
	p := key.Owner
	p.AccessKeyID = key.ID
	return &p, nil
}

// Forget drops keyID from this node's cache, so a key deactivated here stops
// honouring its tokens at once (other nodes catch up within CacheTTL).
func (t *LoginTokens) Forget(keyID string) {
	t.mu.Lock()
	delete(t.cache, keyID)
	t.mu.Unlock()
}

// claims is parse, with the claims copied out of the decode buffer.
func (t *LoginTokens) claims(token string) (parsedToken, bool) {
	tok, ok := t.parse(token)
	if !ok {
		return parsedToken{}, false
	}
	return parsedToken{issued: tok.issued, expires: tok.expires, keyID: string(tok.keyID), arn: string(tok.arn)}, true
}

// parse decodes token and verifies its MAC and structure. It never panics
// on any input.
func (t *LoginTokens) parse(token string) (loginToken, bool) {
	var tok loginToken
	if len(token) == 0 || len(token) > maxLoginTokenLen || strings.ContainsAny(token, "\r\n") {
		return tok, false
	}
	raw := make([]byte, loginTokenEncoding.DecodedLen(len(token)))
	n, err := loginTokenEncoding.Decode(raw, []byte(token))
	if err != nil {
		return tok, false
	}
	raw = raw[:n]
	if len(raw) < 1+8+8+1+1+loginTokenMACSize || raw[0] != loginTokenVersion {
		return tok, false
	}
	body, mac := raw[:len(raw)-loginTokenMACSize], raw[len(raw)-loginTokenMACSize:]
	var sum [loginTokenMACSize]byte
	if !hmac.Equal(t.appendMAC(sum[:0], body), mac) {
		return tok, false
	}
	// From here the bytes are ours, but parse defensively anyway.
	rest := body[1:]
	tok.issued = time.Unix(int64(binary.BigEndian.Uint64(rest)), 0)
	tok.expires = time.Unix(int64(binary.BigEndian.Uint64(rest[8:])), 0)
	rest = rest[16:]
	var ok bool
	if tok.keyID, rest, ok = readField(rest); !ok || len(tok.keyID) == 0 {
		return tok, false
	}
	if tok.arn, rest, ok = readField(rest); !ok || len(rest) != 0 {
		return tok, false
	}
	return tok, true
}

func readField(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// appendMAC appends the MAC of msg to dst.
func (t *LoginTokens) appendMAC(dst, msg []byte) []byte {
	h := t.macs.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(loginTokenContext))
	h.Write(msg)
	dst = h.Sum(dst)
	t.macs.Put(h)
	return dst
}

// lookup returns the access key id, from the cache when fresh.
func (t *LoginTokens) lookup(ctx context.Context, id string, now time.Time) (AccessKey, error) {
	ttl := t.CacheTTL
	if ttl == 0 {
		ttl = DefaultKeyCacheTTL
	}
	if ttl > 0 {
		t.mu.RLock()
		c, ok := t.cache[id]
		t.mu.RUnlock()
		if ok && now.Sub(c.fetchedAt) < ttl && !now.Before(c.fetchedAt) {
			return c.key, nil
		}
	}
	key, err := t.Keys.LookupAccessKey(ctx, id)
	if err != nil {
		if ttl > 0 && errors.Is(err, ErrKeyNotFound) {
			t.Forget(id)
		}
		return AccessKey{}, err
	}
	key.Secret, key.SessionToken = "", ""
	if key.ID == "" {
		key.ID = id
	}
	if ttl > 0 {
		t.mu.Lock()
		if len(t.cache) >= maxKeyCacheSize {
			// Only MAC-valid tokens reach here, so the cache holds real keys;
			// a full reset is simpler than LRU and just costs a few lookups.
			clear(t.cache)
		}
		t.cache[id] = cachedKey{key: key, fetchedAt: now}
		t.mu.Unlock()
	}
	return key, nil
}

func (t *LoginTokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func errInvalidLoginToken() *Error {
	return newError(ProtocolJSON, ReasonInvalidLoginToken, "Your authorization token is invalid.")
}

func errExpiredLoginToken() *Error {
	// ECR's wording for expired and revoked tokens alike.
	return newError(ProtocolJSON, ReasonInvalidLoginToken, "Your authorization token has expired. Reauthenticate and try again.")
}

// ParseBasicAuth returns the credentials of an HTTP Basic Authorization
// header (docker sends user "AWS" and the login token as password).
func ParseBasicAuth(r *http.Request) (user, pass string, ok bool) {
	return r.BasicAuth()
}
