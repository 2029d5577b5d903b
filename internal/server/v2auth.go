package server

import (
	"errors"
	"net/http"

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
	return func(r *http.Request, access oci.Access) (oci.Caller, error) {
		p, err := tokens.VerifyBasicAuth(r, loginUser)
		if err != nil {
			if errors.Is(err, auth.ErrNoBasicAuth) {
				return oci.Caller{}, oci.Unauthorized(challenge, "Not Authorized")
			}
			var ae *auth.Error
			if errors.As(err, &ae) {
				return oci.Caller{}, oci.Unauthorized(challenge, ae.Message)
			}
			return oci.Caller{}, err // the key store failed: a 500, never a pass
		}
		if err := v2Policy(az, region, r, p, access); err != nil {
			return oci.Caller{}, err
		}
		return oci.Caller{PrincipalARN: p.ARN}, nil
	}
}
