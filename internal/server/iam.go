package server

// IAM and STS: the AWS Query protocol APIs share POST / with the ECR JSON
// API and are told apart by their form body (no X-Amz-Target); iamapi
// routes between IAM and STS by the SigV4 credential scope's service.

import (
	"log/slog"
	"net/http"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/iamapi"
	"github.com/berth-registry/berth/internal/identity"
)

// routeIAM labels IAM and STS requests.
const routeIAM = "iam"

// newIAMHandler builds the IAM/STS handler over the identity. Only the root
// may call IAM actions until policy enforcement plugs in its Authorize.
func newIAMHandler(id *identity.Identity, region string, log *slog.Logger) http.Handler {
	h, err := iamapi.New(iamapi.Options{
		Identity:      id,
		Authenticator: &auth.Verifier{Keys: id, Region: region, Protocol: auth.ProtocolQuery},
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
