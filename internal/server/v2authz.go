package server

import (
	"errors"
	"net/http"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/oci"
)

// v2Policy checks the ECR actions a /v2 request needs (authz.V2Actions)
// for the principal its login token carries. A denial is a 403 DENIED with
// AWS's AccessDenied wording; a failure to read policies is a 500.
func v2Policy(az *authz.Authorizer, region string, r *http.Request, p *auth.Principal, access oci.Access) error {
	if az == nil || len(access.Actions) == 0 {
		return nil
	}
	route := oci.RouteName(r.Method, r.URL.Path)
	reqID, _ := requestIDFrom(r.Context())
	for _, action := range access.Actions {
		err := az.AuthorizeV2(r.Context(), region, authz.V2Request{
			Principal: p, Route: route, Method: r.Method,
			Repository: access.Repository, OCIAction: action,
			Mount:     access.MountSource,
			RequestID: reqID, HTTP: r,
		})
		if err != nil {
			var d *authz.DeniedError
			if errors.As(err, &d) {
				return oci.Denied(d.Message)
			}
			return err
		}
	}
	return nil
}
