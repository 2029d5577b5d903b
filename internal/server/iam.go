package server

// IAM and STS: the AWS Query protocol APIs share POST / with the ECR JSON
// API and are told apart by their form body (no X-Amz-Target); iamapi
// routes between IAM and STS by the SigV4 credential scope's service.

import (
	"github.com/berth-registry/berth/internal/authz"
	"log/slog"
	"net/http"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/iamapi"
	"github.com/berth-registry/berth/internal/identity"
)

// routeIAM labels IAM and STS requests.
const routeIAM = "iam"

// newIAMHandler builds the IAM/STS handler over the identity. IAM actions are
// authorized like ECR's: the root may do everything, users what their
// policies allow.
func newIAMHandler(id *identity.Identity, region string, az *authz.Authorizer, log *slog.Logger) http.Handler {
	h, err := iamapi.New(iamapi.Options{
		Identity:      id,
		Authenticator: &auth.Verifier{Keys: id, Region: region, Protocol: auth.ProtocolQuery},
		Authorize:     iamAuthorize(az),
		Logger:        log,
	})
	if err != nil { // unreachable: both are given
		log.Error("IAM API disabled", "error", err)
		return nil
	}
	return h
}

// isQueryAPI reports whether r goes to the IAM/STS handler.
func (s *Server) isQueryAPI(r *http.Request) bool {
	return s.iam != nil && iamapi.IsQueryRequest(r)
}
