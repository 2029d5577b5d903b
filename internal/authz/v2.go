package authz

import (
	"context"
	"net"
	"net/http"

	"github.com/berth-registry/berth/internal/auth"
)

// OCI actions the /v2 adapter asks for (oci.ActionPull, ...).
const (
	ociPull    = "pull"
	ociPush    = "push"
	ociDelete  = "delete"
	ociCatalog = "catalog"
)

// V2Actions returns the ECR actions a /v2 request needs, as groups: every
// group must be allowed, and a group is allowed when any of its actions is.
// route is oci.RouteName's label for the request, method its HTTP method,
// ociAction what the adapter asked for on the repository (pull, push,
// delete, catalog), and mount whether the repository asked about is not the
// one in the path (the source of a cross-repository blob mount).
//
// ECR's mapping: a pull is ecr:BatchGetImage (manifests) and
// ecr:GetDownloadUrlForLayer (blobs); a push is ecr:InitiateLayerUpload,
// ecr:UploadLayerPart, ecr:CompleteLayerUpload,
// ecr:BatchCheckLayerAvailability and ecr:PutImage, each on the request that
// does that step; a delete is ecr:BatchDeleteImage; the catalog is
// ecr:DescribeRepositories. Nil means no action (authentication only).
// The result is shared: callers must not modify it.
func V2Actions(route, method, ociAction string, mount bool) [][]string {
	if mount {
		// Reading the mount source's blob.
		return needGetDownloadURL
	}
	switch ociAction {
	case "":
		return nil
	case ociCatalog:
		return needDescribeRepositories
	case ociDelete:
		return needBatchDeleteImage
	case ociPull:
		switch route {
		case "manifest", "referrers":
			return needBatchGetImage
		case "tags_list":
			return needListImages
		case "blob":
			if method == http.MethodHead {
				// The existence check of a push, or a pull's probe.
				return blobProbeActions
			}
			return needGetDownloadURL
		}
		return needBatchGetImage
	case ociPush:
		switch route {
		case "manifest":
			return needPutImage
		case "blob_upload_start":
			return needInitiateLayerUpload
		case "blob_upload":
			switch method {
			case http.MethodPut:
				return needCompleteLayerUpload
			default: // PATCH, GET (status), DELETE (cancel)
				return needUploadLayerPart
			}
		case "blob":
			return needBatchCheckLayerAvailability
		}
		return needPutImage
	}
	// An action this table does not know: deny by asking for nothing any
	// policy can grant.
	return needUnknownOCIAction
}

// blobProbeActions answers a blob HEAD: either action allows it.
var blobProbeActions = [][]string{{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"}}

// V2Actions' answers, each built once because V2Actions runs on every /v2
// request.
var (
	needGetDownloadURL              = [][]string{{"ecr:GetDownloadUrlForLayer"}}
	needDescribeRepositories        = [][]string{{"ecr:DescribeRepositories"}}
	needBatchDeleteImage            = [][]string{{"ecr:BatchDeleteImage"}}
	needBatchGetImage               = [][]string{{"ecr:BatchGetImage"}}
	needListImages                  = [][]string{{"ecr:ListImages"}}
	needPutImage                    = [][]string{{"ecr:PutImage"}}
	needInitiateLayerUpload         = [][]string{{"ecr:InitiateLayerUpload"}}
	needCompleteLayerUpload         = [][]string{{"ecr:CompleteLayerUpload"}}
	needUploadLayerPart             = [][]string{{"ecr:UploadLayerPart"}}
	needBatchCheckLayerAvailability = [][]string{{"ecr:BatchCheckLayerAvailability"}}
	needUnknownOCIAction            = [][]string{{"berth:UnknownOCIAction"}}
)

// V2Request is one /v2 authorization question.
type V2Request struct {
	Principal  *auth.Principal
	Route      string // oci.RouteName
	Method     string
	Repository string // "" for the catalog
	OCIAction  string
	Mount      bool
	RequestID  string
	HTTP       *http.Request
}

// AuthorizeV2 checks every action group V2Actions names. The resource is
// the repository ARN ("*" for the catalog).
func (a *Authorizer) AuthorizeV2(ctx context.Context, region string, v V2Request) error {
	groups := V2Actions(v.Route, v.Method, v.OCIAction, v.Mount)
	if len(groups) == 0 {
		return nil
	}
	c := Check{Principal: v.Principal, RequestID: v.RequestID, Resource: "*"}
	if v.Repository != "" && v.OCIAction != ociCatalog && v.Principal != nil {
		c.Repository = v.Repository
		c.Resource = RepositoryARN(region, v.Principal.AccountID, v.Repository)
	}
	if v.HTTP != nil {
		c.SourceIP, c.SecureTransport = RequestSource(v.HTTP)
	}
	if a.cfg.CreateOnPush && v.OCIAction == ociPush && c.Repository != "" && (v.Route == "blob_upload_start" || v.Route == "manifest") {
		// A push that would create the repository (create on push) needs
		// ecr:CreateRepository too, as with ECR.
		repo, err := a.repository(ctx, c.Repository)
		if err != nil {
			return err
		}
		if !repo.exists {
			if err := a.authorizeAny(ctx, c, []string{"ecr:CreateRepository"}); err != nil {
				return err
			}
		}
	}
	for _, group := range groups {
		if err := a.authorizeAny(ctx, c, group); err != nil {
			return err
		}
	}
	return nil
}

// RepositoryARN is arn:aws:ecr:<region>:<account>:repository/<name>.
func RepositoryARN(region, account, name string) string {
	return "arn:aws:ecr:" + region + ":" + account + ":repository/" + name
}

// RequestSource returns aws:SourceIp and aws:SecureTransport for r.
func RequestSource(r *http.Request) (net.IP, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host), r.TLS != nil
}
