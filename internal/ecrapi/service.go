package ecrapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-registry/berth/internal/auth"
	"github.com/berth-registry/berth/internal/authz"
	"github.com/berth-registry/berth/internal/registry"
)

// Options configures the ECR API.
type Options struct {
	// AccountID is the 12-digit registry id in every ARN and registryId.
	AccountID string
	// Region appears in ARNs.
	Region string
	// PublicURL is the registry's base URL (proxyEndpoint, repositoryUri host,
	// GetDownloadUrlForLayer URLs).
	PublicURL string
	// Tokens mints login tokens for GetAuthorizationToken.
	Tokens *auth.LoginTokens
	// URLSigningKey signs GetDownloadUrlForLayer URLs (see download.go);
	// every node serving the same registry needs the same key. Empty means
	// a random key per process.
	URLSigningKey []byte
	Logger        *slog.Logger
	// Authorizer, when set, authorizes every operation (policyops.go).
	Authorizer *authz.Authorizer
	// ScanQuota is how often StartImageScan may scan one image (0: ECR's
	// 24 hours; negative: unlimited). See scanops.go.
	ScanQuota time.Duration
}

// Service implements the ECR operations as a thin adapter over the core.
type Service struct {
	core *registry.Registry
	opts Options
	log  *slog.Logger
	// host is PublicURL's host[:port], the registry part of repositoryUri.
	host string
}

// NewHandler returns the http.Handler serving the ECR JSON API (POST / with
// an ECR X-Amz-Target), authenticating requests with authn.
func NewHandler(core *registry.Registry, opts Options, authn Authenticator) (http.Handler, error) {
	s, err := newService(core, opts)
	if err != nil {
		return nil, err
	}
	d := NewDispatcher(authn, s.log)
	s.registerRepositoryOps(d) // repositories.go
	s.registerRegistryOps(d)   // registryops.go
	s.registerImageOps(d)      // images.go
	s.registerLayerOps(d)      // layers.go
	s.registerPolicyOps(d)     // policyops.go
	s.registerLifecycleOps(d)  // lifecycleops.go
	s.registerTemplateOps(d)   // templateops.go
	s.registerScanOps(d)       // scanops.go
	return d, nil
}

// newService checks opts.PublicURL and fills in the defaults of opts.
func newService(core *registry.Registry, opts Options) (*Service, error) {
	u, err := url.Parse(opts.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("ecrapi: public URL %q is not an absolute URL", opts.PublicURL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{core: core, opts: opts, log: opts.Logger, host: u.Host}, nil
}

// repositoryARN is a repository's ARN.
func (s *Service) repositoryARN(name string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.opts.Region, s.opts.AccountID, name)
}

// repositoryURI is what clients tag images with: host[:port]/name.
func (s *Service) repositoryURI(name string) string {
	return s.host + "/" + name
}

// checkRegistryID refuses a registryId naming another registry, as ECR does
// for an account the caller cannot reach.
func (s *Service) checkRegistryID(id *string) error {
	if id == nil || *id == "" || *id == s.opts.AccountID {
		return nil
	}
	return invalidParam("registryId", "The registry id "+*id+" does not exist or is not accessible")
}

// coreError maps a core error to the ECR exception ECR returns for it.
// Operations whose exception differs for a kind (e.g. a missing blob is
// LayersNotFoundException in PutImage but LayerInaccessibleException in
// GetDownloadUrlForLayer) translate that kind themselves before calling this.
func coreError(err error) error {
	var api *APIError
	if errors.As(err, &api) {
		return api
	}
	e, ok := registry.AsError(err)
	if !ok {
		return err // becomes a logged ServerException
	}
	code, ok := coreErrorCodes[e.Kind]
	if !ok {
		return err
	}
	return Errorf(code, "%s", e.Message)
}

// coreErrorCodes is the default table from core error kinds to ECR exceptions.
var coreErrorCodes = map[registry.Kind]string{
	registry.KindNameInvalid:         "InvalidParameterException",
	registry.KindNameUnknown:         "RepositoryNotFoundException",
	registry.KindTagInvalid:          "InvalidParameterException",
	registry.KindDigestInvalid:       "InvalidParameterException",
	registry.KindBlobUnknown:         "LayersNotFoundException",
	registry.KindBlobUploadUnknown:   "UploadNotFoundException",
	registry.KindBlobUploadInvalid:   "InvalidLayerPartException",
	registry.KindRangeInvalid:        "InvalidLayerPartException",
	registry.KindSizeInvalid:         "InvalidParameterException",
	registry.KindManifestUnknown:     "ImageNotFoundException",
	registry.KindManifestInvalid:     "InvalidParameterException",
	registry.KindManifestBlobUnknown: "LayersNotFoundException",
	registry.KindManifestTooLarge:    "InvalidParameterException",
	registry.KindUnsupported:         "UnsupportedImageTypeException",
	registry.KindTagImmutable:        "ImageTagAlreadyExistsException",
	registry.KindRepositoryExists:    "RepositoryAlreadyExistsException",
	registry.KindRepositoryNotEmpty:  "RepositoryNotEmptyException",
	registry.KindReferencedByIndex:   "InvalidParameterException", // BatchDeleteImage reports it as the failure code ImageReferencedByManifestList
	registry.KindDenied:              "AccessDeniedException",
	registry.KindInvalidParameter:    "InvalidParameterException",
	registry.KindUnavailable:         "ServerException",
}

// str dereferences an optional string.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
