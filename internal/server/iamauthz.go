package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/iamapi"
)

// forgetPoliciesAfter serves IAM/STS requests with h and then drops the
// identity policies az cached, so a policy, group or key change made
// through this node applies to the next ECR or /v2 request at once (other
// nodes: within authz.DefaultTTL). h nil stays nil (IAM disabled).
func forgetPoliciesAfter(az *authz.Authorizer, h http.Handler) http.Handler {
	if h == nil || az == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		az.ForgetPrincipals()
	})
}

// iamAuthorize is an iamapi.AuthorizeFunc enforcing IAM users' identity
// policies on IAM actions (the root may do everything; STS
// GetCallerIdentity is never denied), with IAM's AccessDenied on denial.
func iamAuthorize(az *authz.Authorizer) iamapi.AuthorizeFunc {
	return func(ctx context.Context, p *auth.Principal, action, resource string) error {
		if p == nil {
			return iamapi.RootOnly(ctx, &auth.Principal{}, action, resource)
		}
		if p.IsRoot || action == "sts:GetCallerIdentity" {
			return nil
		}
		err := az.Authorize(ctx, authz.Check{Principal: p, Action: action, Resource: resource})
		var d *authz.DeniedError
		if errors.As(err, &d) {
			// Worded by the policy engine, as ECR's and /v2's denials are:
			// it says why (no allow, or an explicit deny), as IAM does.
			return iamapi.AccessDeniedMessage(d.Message)
		}
		return err
	}
}
