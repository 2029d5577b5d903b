package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	scopeDate      = "20060102"
	scopeTerm      = "aws4_request"
	// MaxClockSkew is how far X-Amz-Date may be from the server clock, as AWS allows.
	MaxClockSkew = 15 * time.Minute
	// maxAuthorizationLen bounds the header we parse; real ones are ~250 bytes.
	maxAuthorizationLen = 8 << 10
)

// Verifier verifies AWS Signature Version 4 header authentication by
// re-signing a copy of the request, restricted to the headers the client says
// it signed, with the AWS SDK for Go v2 signer and the secret from Keys.
//
// Because the SDK signer decides some canonical headers itself, requests it
// could not have produced are refused: presigned (query-string) auth, dating
// by the Date header alone, and a signed Content-Length of 0. No AWS SDK or
// CLI sends those to the JSON or Query APIs.
type Verifier struct {
	Keys KeyLookup
	// Now returns the current time; nil means time.Now. Tests inject a clock.
	Now func() time.Time
	// Region, when set, is the only region a credential scope may name.
	Region string
	// Protocol selects the error codes (JSON for ECR, Query for IAM/STS).
	Protocol Protocol
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	AccessKeyID   string
	Date          string // YYYYMMDD from the credential scope
	Region        string
	Service       string
	SignedHeaders []string
	Signature     string
}

// Verify authenticates r, whose body the caller has already read (bounded)
// into body, as a request for service. It returns the key owner, with
// AccessKeyID set, or an *Error carrying the AWS error for the Verifier's
// protocol. Any other error is an internal failure (e.g. the key store is
// down) and must not be reported to the client as an authentication error.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) (*Principal, error) {
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 || authz[0] == "" {
		return nil, v.fail(ReasonMissing, "")
	}
	if len(authz) > 1 {
		return nil, v.fail(ReasonIncomplete, "Only one Authorization header may be sent.")
	}
	header := authz[0]
	if len(header) > maxAuthorizationLen {
		return nil, v.fail(ReasonIncomplete, "Authorization header is too long.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	a, msg := parseAuthorization(header, amzDate != "" || r.Header.Get("Date") != "")
	if msg != "" {
		return nil, v.fail(ReasonIncomplete, msg)
	}
	if amzDate == "" {
		// The SDK signer always signs X-Amz-Date, so a request dated only by
		// the Date header cannot be re-signed; no AWS SDK or CLI sends one.
		return nil, v.fail(ReasonIncomplete, "Authorization requires the 'X-Amz-Date' header; the 'Date' header is not supported.")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, v.fail(ReasonIncomplete, fmt.Sprintf(
			"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate))
	}
	if a.Date != signedAt.Format(scopeDate) {
		return nil, v.fail(ReasonBadSignature, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.Date, signedAt.Format(scopeDate), amzDate))
	}
	if a.Service != service {
		return nil, v.fail(ReasonBadSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service))
	}
	if a.Region == "" || (v.Region != "" && a.Region != v.Region) {
		return nil, v.fail(ReasonBadSignature, "Credential should be scoped to a valid region. ")
	}
	now := v.now().UTC()
	if e := checkSkew(signedAt, now); e != "" {
		return nil, v.fail(ReasonBadSignature, e)
	}

	ctx := r.Context()
	key, err := v.Keys.LookupAccessKey(ctx, a.AccessKeyID)
	if errors.Is(err, ErrKeyNotFound) {
		return nil, v.fail(ReasonUnknownKey, "")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up access key: %w", err)
	}
	if !sessionTokenMatches(key.SessionToken, r.Header.Get("X-Amz-Security-Token")) {
		return nil, v.fail(ReasonUnknownKey, "")
	}
	if reason := key.usable(now); reason != 0 {
		return nil, v.fail(reason, "")
	}

	bodySum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(bodySum[:])
	if declared := r.Header.Get("X-Amz-Content-Sha256"); declared != "" {
		// The signature covers the declared hash, not the body: the two
		// must agree or a body could be swapped under a valid signature.
		// This also refuses UNSIGNED-PAYLOAD, which no JSON/Query API needs.
		if !strings.EqualFold(declared, payloadHash) {
			return nil, v.fail(ReasonBadSignature, "")
		}
		payloadHash = declared
	}

	want, err := resign(r, a, key.Secret, payloadHash, signedAt)
	if err != nil {
		return nil, fmt.Errorf("auth: re-sign request: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return nil, v.fail(ReasonBadSignature, "")
	}
	p := key.Owner
	p.AccessKeyID = key.ID
	if p.AccessKeyID == "" {
		p.AccessKeyID = a.AccessKeyID
	}
	return &p, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) fail(reason Reason, message string) *Error {
	return newError(v.Protocol, reason, message)
}

// checkSkew returns AWS's message when signedAt is more than MaxClockSkew
// from now, or "".
func checkSkew(signedAt, now time.Time) string {
	if earliest := now.Add(-MaxClockSkew); signedAt.Before(earliest) {
		return fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			signedAt.Format(amzDateFormat), earliest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if latest := now.Add(MaxClockSkew); signedAt.After(latest) {
		return fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			signedAt.Format(amzDateFormat), latest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return ""
}

// sessionTokenMatches reports whether the request's token fits the key:
// temporary keys need their exact token, long-term keys must have none.
func sessionTokenMatches(want, got string) bool {
	if want == "" {
		return got == ""
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// resign signs a minimal copy of r with the SDK signer and returns the hex
// signature it computed. The copy carries only the headers listed in the
// client's SignedHeaders, so headers added or changed in transit that the
// client did not sign (User-Agent, proxies' X-Forwarded-*) cannot matter,
// while any change to a signed one does.
func resign(r *http.Request, a authorization, secret, payloadHash string, signedAt time.Time) (string, error) {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	clone := &http.Request{
		Method: r.Method,
		// No scheme, so the signer keeps an explicit :80/:443 the client
		// sent (and therefore signed) instead of stripping it.
		URL:    &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   host,
		Header: make(http.Header, len(a.SignedHeaders)),
	}
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
			// The signer always signs the host from clone.Host.
		case "content-length":
			// The signer signs Content-Length from the field, never the header.
			clone.ContentLength = r.ContentLength
		default:
			if vals := r.Header.Values(name); len(vals) > 0 {
				clone.Header[textproto.CanonicalMIMEHeaderKey(name)] = vals
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret}
	// A fresh signer per call: the SDK's derived-key cache is keyed by access
	// key ID, not secret, so sharing one would be correct only while secrets
	// never change under an ID. Deriving costs four small HMACs.
	signer := v4.NewSigner()
	if err := signer.SignHTTP(r.Context(), creds, clone, payloadHash, a.Service, a.Region, signedAt); err != nil {
		return "", err
	}
	// Last occurrence: the client-chosen key ID precedes it in the header.
	out := clone.Header.Get("Authorization")
	i := strings.LastIndex(out, "Signature=")
	if i < 0 {
		return "", errors.New("signer produced no signature")
	}
	return out[i+len("Signature="):], nil
}

// parseAuthorization parses a SigV4 Authorization header. On failure it
// returns AWS's IncompleteSignatureException message. hasDate reports whether
// the request carries X-Amz-Date or Date, which AWS checks in the same pass.
func parseAuthorization(header string, hasDate bool) (authorization, string) {
	var a authorization
	var credential, signedHeaders, signature string
	if rest, ok := strings.CutPrefix(header, sigV4Algorithm+" "); ok {
		// AWS splits on commas and whitespace alike, so "Credential= AKID/..."
		// yields a token without '=' and is refused, as AWS does.
		fields := strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })
		for _, f := range fields {
			k, val, found := strings.Cut(f, "=")
			if !found {
				return a, fmt.Sprintf("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", f, header)
			}
			var dst *string
			switch k {
			case "Credential":
				dst = &credential
			case "SignedHeaders":
				dst = &signedHeaders
			case "Signature":
				dst = &signature
			default:
				continue
			}
			if *dst != "" {
				return a, fmt.Sprintf("Authorization header has a duplicate '%s' parameter: '%s'.", k, header)
			}
			*dst = val
		}
	}
	var missing strings.Builder
	for _, p := range []struct{ name, val string }{
		{"Credential", credential}, {"Signature", signature}, {"SignedHeaders", signedHeaders},
	} {
		if p.val == "" {
			fmt.Fprintf(&missing, "Authorization header requires '%s' parameter. ", p.name)
		}
	}
	if !hasDate {
		missing.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if missing.Len() > 0 {
		return a, missing.String() + "Authorization=" + header
	}

	parts := strings.Split(credential, "/")
	if len(parts) != 5 {
		return a, fmt.Sprintf("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential)
	}
	if parts[4] != scopeTerm {
		return a, fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerm, parts[4])
	}
	if parts[0] == "" {
		return a, fmt.Sprintf("Credential must have a non-empty access key ID, got '%s'", credential)
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	a.Signature = signature

	a.SignedHeaders = strings.Split(signedHeaders, ";")
	hasHost := false
	for _, h := range a.SignedHeaders {
		if h == "" || h != strings.ToLower(h) {
			return a, fmt.Sprintf("SignedHeaders must be a ';'-separated list of lower-case header names, got '%s'.", signedHeaders)
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return a, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	}
	return a, ""
}
