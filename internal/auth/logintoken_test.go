package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testTokenKey = bytes.Repeat([]byte{7}, 32)

func newTestTokens(t testing.TB, keys KeyLookup, now *time.Time) *LoginTokens {
	t.Helper()
	lt, err := NewLoginTokens(testTokenKey, keys)
	if err != nil {
		t.Fatal(err)
	}
	lt.Now = func() time.Time { return *now }
	return lt
}

func TestNewLoginTokensRejectsShortKey(t *testing.T) {
	if _, err := NewLoginTokens(make([]byte, 31), testKeys()); err == nil {
		t.Fatal("accepted a 31-byte key")
	}
	if _, err := NewLoginTokens(make([]byte, 32), nil); err == nil {
		t.Fatal("accepted a nil KeyLookup")
	}
}

func TestLoginTokenRoundTrip(t *testing.T) {
	now := testNow
	lt := newTestTokens(t, testKeys(), &now)
	tok, exp := lt.MintLoginToken(testOwner, testAKID, now)
	if want := now.Add(12 * time.Hour); !exp.Equal(want) {
		t.Fatalf("expiry = %v, want %v", exp, want)
	}
	if strings.ContainsAny(tok, "+/=:") {
		t.Fatalf("token %q is not unpadded base64url", tok)
	}
	p, err := lt.VerifyLoginToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.ARN != testOwner.ARN || p.UserID != testOwner.UserID || p.AccessKeyID != testAKID {
		t.Fatalf("principal = %+v", p)
	}
}

func TestLoginTokenRejections(t *testing.T) {
	mint := func(lt *LoginTokens, p Principal, keyID string) string {
		tok, _ := lt.MintLoginToken(p, keyID, testNow)
		return tok
	}
	flip := func(tok string, i int) string {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			panic(err)
		}
		if i < 0 {
			i += len(raw)
		}
		raw[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	cases := []struct {
		name    string
		token   func(lt *LoginTokens) string
		now     time.Time
		keys    func(k *mapKeys)
		wantMsg string // substring
	}{
		{name: "expired", now: testNow.Add(12 * time.Hour), token: func(lt *LoginTokens) string { return mint(lt, testOwner, testAKID) }, wantMsg: "expired"},
		{name: "one second before expiry is fine", now: testNow.Add(12*time.Hour - time.Second), token: func(lt *LoginTokens) string { return mint(lt, testOwner, testAKID) }},
		{name: "issued in the future", now: testNow.Add(-time.Hour), token: func(lt *LoginTokens) string { return mint(lt, testOwner, testAKID) }, wantMsg: "expired"},
		{name: "tampered version", token: func(lt *LoginTokens) string { return flip(mint(lt, testOwner, testAKID), 0) }, wantMsg: "invalid"},
		{name: "tampered expiry", token: func(lt *LoginTokens) string { return flip(mint(lt, testOwner, testAKID), 15) }, wantMsg: "invalid"},
		{name: "tampered mac", token: func(lt *LoginTokens) string { return flip(mint(lt, testOwner, testAKID), -1) }, wantMsg: "invalid"},
		{name: "truncated", token: func(lt *LoginTokens) string { tok := mint(lt, testOwner, testAKID); return tok[:len(tok)-4] }, wantMsg: "invalid"},
		{name: "signed with another server key", token: func(*LoginTokens) string {
			other, _ := NewLoginTokens(bytes.Repeat([]byte{8}, 32), testKeys())
			return mint(other, testOwner, testAKID)
		}, wantMsg: "invalid"},
		{name: "minting key deleted", token: func(lt *LoginTokens) string { return mint(lt, testOwner, testAKID) },
			keys: func(k *mapKeys) { delete(k.keys, testAKID) }, wantMsg: "expired"},
		{name: "minting key inactive", token: func(lt *LoginTokens) string { return mint(lt, testOwner, "AKIDOFF") }, wantMsg: "expired"},
		{name: "minting key expired temporary credentials", token: func(lt *LoginTokens) string { return mint(lt, testOwner, "ASIAEXPIRE") }, wantMsg: "expired"},
		{name: "minting key owned by someone else", token: func(lt *LoginTokens) string {
			mallory := testOwner
			mallory.ARN = "arn:aws:iam::123456789012:user/mallory"
			return mint(lt, mallory, testAKID)
		}, wantMsg: "expired"},
		{name: "empty", token: func(*LoginTokens) string { return "" }, wantMsg: "invalid"},
		{name: "not base64", token: func(*LoginTokens) string { return "!!!not base64!!!" }, wantMsg: "invalid"},
		{name: "padded base64", token: func(lt *LoginTokens) string { return mint(lt, testOwner, testAKID) + "=" }, wantMsg: "invalid"},
		{name: "huge", token: func(*LoginTokens) string { return strings.Repeat("A", 1<<20) }, wantMsg: "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys := testKeys()
			now := testNow
			lt := newTestTokens(t, keys, &now)
			tok := c.token(lt)
			if c.keys != nil {
				c.keys(keys)
			}
			if !c.now.IsZero() {
				now = c.now
			}
			p, err := lt.VerifyLoginToken(context.Background(), tok)
			if c.wantMsg == "" {
				if err != nil {
					t.Fatalf("VerifyLoginToken: %v", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Reason != ReasonInvalidLoginToken || ae.Status != 401 || ae.Code != "InvalidLoginToken" {
				t.Fatalf("err = %v, want a 401 login token error", err)
			}
			if !strings.Contains(ae.Message, c.wantMsg) {
				t.Fatalf("message %q does not mention %q", ae.Message, c.wantMsg)
			}
			if p != nil {
				t.Fatalf("principal %+v returned with an error", p)
			}
		})
	}
}

func TestLoginTokenKeyCache(t *testing.T) {
	keys := testKeys()
	now := testNow
	lt := newTestTokens(t, keys, &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	verify := func() error { _, err := lt.VerifyLoginToken(context.Background(), tok); return err }

	for range 3 {
		if err := verify(); err != nil {
			t.Fatal(err)
		}
	}
	if keys.calls != 1 {
		t.Fatalf("%d key lookups for 3 verifications, want 1 (cached)", keys.calls)
	}

	// Deactivation is seen once the cache entry ages out...
	k := keys.keys[testAKID]
	k.Status = KeyInactive
	keys.keys[testAKID] = k
	if err := verify(); err != nil {
		t.Fatalf("within the cache TTL the cached key still answers: %v", err)
	}
	now = now.Add(DefaultKeyCacheTTL)
	if err := verify(); err == nil {
		t.Fatal("token of a deactivated key accepted after the cache TTL")
	}

	// ...or at once on a node that calls Forget.
	k.Status = KeyActive
	keys.keys[testAKID] = k
	now = now.Add(DefaultKeyCacheTTL)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	k.Status = KeyInactive
	keys.keys[testAKID] = k
	lt.Forget(testAKID)
	if err := verify(); err == nil {
		t.Fatal("token of a forgotten, deactivated key accepted")
	}
}

// basicRequest is a /v2 request carrying Basic user:token.
func basicRequest(user, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	r.SetBasicAuth(user, token)
	return r
}

// A token parsed once is remembered (per Authorization header), but its
// expiry and its key are still checked on every use.
func TestLoginTokenParsedCacheKeepsChecks(t *testing.T) {
	keys := testKeys()
	now := testNow
	lt := newTestTokens(t, keys, &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	req := basicRequest("AWS", tok)
	verify := func() error { _, err := lt.VerifyBasicAuth(req, "AWS"); return err }
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if _, ok := lt.parsed[req.Header.Get("Authorization")]; !ok {
		t.Fatal("a verified token is not remembered")
	}
	k := keys.keys[testAKID]
	k.Status = KeyInactive
	keys.keys[testAKID] = k
	lt.Forget(testAKID)
	if err := verify(); err == nil {
		t.Fatal("remembered token of a deactivated key accepted")
	}
	k.Status = KeyActive
	keys.keys[testAKID] = k
	now = now.Add(LoginTokenTTL)
	if err := verify(); err == nil {
		t.Fatal("remembered token accepted after its expiry")
	}
	if _, err := lt.VerifyBasicAuth(basicRequest("AWS", tok[:len(tok)-1]), "AWS"); err == nil {
		t.Fatal("a truncated copy of a remembered token accepted")
	}
}

// VerifyBasicAuth tells a missing Basic header from a bad one, and never
// remembers a header it refused.
func TestVerifyBasicAuthRefusals(t *testing.T) {
	now := testNow
	lt := newTestTokens(t, testKeys(), &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	bearer := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	bearer.Header.Set("Authorization", "Bearer "+tok)
	cases := []struct {
		name    string
		req     *http.Request
		noBasic bool
	}{
		{"no header", httptest.NewRequest(http.MethodGet, "/v2/", nil), true},
		{"not basic", bearer, true},
		{"other user", basicRequest("root", tok), false},
		{"empty token", basicRequest("AWS", ""), false},
		{"forged token", basicRequest("AWS", tok[:len(tok)-2]+"AA"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := lt.VerifyBasicAuth(c.req, "AWS")
			if c.noBasic {
				if !errors.Is(err, ErrNoBasicAuth) {
					t.Fatalf("err = %v, want ErrNoBasicAuth", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Reason != ReasonInvalidLoginToken || ae.Message != "Your authorization token is invalid." {
				t.Fatalf("err = %v, want the invalid-token error", err)
			}
			if _, ok := lt.parsed[c.req.Header.Get("Authorization")]; ok {
				t.Fatal("a refused header was remembered")
			}
		})
	}
}

func TestLoginTokenLookupFailureIsInternal(t *testing.T) {
	boom := errors.New("database is down")
	now := testNow
	lt := newTestTokens(t, &mapKeys{err: boom}, &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	_, err := lt.VerifyLoginToken(context.Background(), tok)
	var ae *Error
	if !errors.Is(err, boom) || errors.As(err, &ae) {
		t.Fatalf("err = %v, want a wrapped internal error", err)
	}
}

func TestParseBasicAuth(t *testing.T) {
	cases := []struct {
		name, header, user, pass string
		ok                       bool
	}{
		{name: "docker login", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:tok:en")), user: "AWS", pass: "tok:en", ok: true},
		{name: "absent"},
		{name: "bearer", header: "Bearer abc"},
		{name: "not base64", header: "Basic %%%"},
		{name: "no colon", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v2/", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			user, pass, ok := ParseBasicAuth(r)
			if user != c.user || pass != c.pass || ok != c.ok {
				t.Fatalf("ParseBasicAuth = %q, %q, %v; want %q, %q, %v", user, pass, ok, c.user, c.pass, c.ok)
			}
		})
	}
}

func FuzzLoginTokenParse(f *testing.F) {
	now := testNow
	lt := newTestTokens(f, testKeys(), &now)
	good, _ := lt.MintLoginToken(testOwner, testAKID, now)
	f.Add(good)
	f.Add("")
	f.Add("AQ")
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, token string) {
		tok, ok := lt.parse(token)
		if ok && (len(tok.keyID) == 0 || token != good) {
			// Forging a MAC is not something a fuzzer should manage.
			t.Fatalf("accepted %q as %+v", token, tok)
		}
		_, _ = lt.VerifyLoginToken(context.Background(), token)
	})
}

func BenchmarkVerifyLoginToken(b *testing.B) {
	now := testNow
	lt := newTestTokens(b, testKeys(), &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lt.VerifyLoginToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBasicAuth is the /v2 hot path: a client's repeated header.
func BenchmarkVerifyBasicAuth(b *testing.B) {
	now := testNow
	lt := newTestTokens(b, testKeys(), &now)
	tok, _ := lt.MintLoginToken(testOwner, testAKID, now)
	req := basicRequest("AWS", tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lt.VerifyBasicAuth(req, "AWS"); err != nil {
			b.Fatal(err)
		}
	}
}
