package server

import (
	"errors"
	"net/http"
	"sync"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/oci"
)

// ecrService is the service ECR names in its registry challenge.
const ecrService = "ecr.amazonaws.com"

// loginUser is the Basic user name of ECR login tokens (docker login -u AWS).
const loginUser = "AWS"

// v2Challenge is the WWW-Authenticate value of a /v2 401, as ECR sends it:
// Basic realm="https://<host>/",service="ecr.amazonaws.com".
func v2Challenge(publicURL string) string {
	return `Basic realm="` + publicURL + `/",service="` + ecrService + `"`
}

// v2Authorizer authenticates every /v2 request, the /v2/ probe included: it
// needs HTTP Basic user AWS with a valid login token (from
// GetAuthorizationToken) as the password; the token's principal must then
// be allowed the ECR actions the request needs (v2authz.go; az nil: any).
func v2Authorizer(tokens *auth.LoginTokens, publicURL string, az *authz.Authorizer, region string) func(*http.Request, oci.Access) (oci.Caller, error) {
	challenge := v2Challenge(publicURL)
	var known loginHeaders
	return func(r *http.Request, access oci.Access) (oci.Caller, error) {
		header := r.Header.Get("Authorization")
		pass, ok := known.token(header)
		if !ok {
			user, p, ok := auth.ParseBasicAuth(r)
			if !ok {
				return oci.Caller{}, oci.Unauthorized(challenge, "Not Authorized")
			}
			if user != loginUser || p == "" {
				return oci.Caller{}, oci.Unauthorized(challenge, "Your authorization token is invalid.")
			}
			pass = p
		}
		p, err := tokens.VerifyLoginToken(r.Context(), pass)
		if err != nil {
			var ae *auth.Error
			if errors.As(err, &ae) {
				return oci.Caller{}, oci.Unauthorized(challenge, ae.Message)
			}
			return oci.Caller{}, err // the key store failed: a 500, never a pass
		}
		known.remember(header, pass)
		if err := v2Policy(az, region, r, p, access); err != nil {
			return oci.Caller{}, err
		}
		return oci.Caller{PrincipalARN: p.ARN}, nil
	}
}

// maxLoginHeaders bounds loginHeaders; only headers whose token verified
// enter it, so a reset when full is rare.
const maxLoginHeaders = 4096

// loginHeaders remembers the token inside Authorization headers that
// carried a valid login token, sparing each request of a client the Basic
// decode. The token itself is still verified on every request.
type loginHeaders struct {
	mu sync.RWMutex
	m  map[string]string
}

func (l *loginHeaders) token(header string) (string, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t, ok := l.m[header]
	return t, ok
}

func (l *loginHeaders) remember(header, token string) {
	l.mu.RLock()
	_, ok := l.m[header]
	l.mu.RUnlock()
	if ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxLoginHeaders {
		l.m = make(map[string]string)
	}
	l.m[header] = token
}
