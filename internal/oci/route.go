package oci

import "strings"

type routeKind int

const (
	routeUnknown routeKind = iota
	routeBase
	routeCatalog
	routeTags
	routeManifest
	routeBlob
	routeUploadStart
	routeUpload
	routeReferrers
)

var routeNames = [...]string{
	routeUnknown:     "unknown",
	routeBase:        "base",
	routeCatalog:     "catalog",
	routeTags:        "tags_list",
	routeManifest:    "manifest",
	routeBlob:        "blob",
	routeUploadStart: "blob_upload_start",
	routeUpload:      "blob_upload",
	routeReferrers:   "referrers",
}

// route is a parsed /v2 path. ref is the manifest reference, the blob or
// subject digest, or the upload id, unvalidated: validation is the core's.
type route struct {
	kind routeKind
	name string
	ref  string
}

// RouteName returns a low-cardinality label for metrics: "base", "catalog",
// "tags_list", "manifest", "blob", "blob_upload_start", "blob_upload",
// "referrers", or "unknown" (also for a method the route does not serve).
func RouteName(method, path string) string {
	rt := parseRoute(path)
	if rt.kind != routeUnknown && !methodAllowed(rt.kind, method) {
		return routeNames[routeUnknown]
	}
	return routeNames[rt.kind]
}

// parseRoute splits a /v2 path. Repository names contain slashes and may
// contain the words the API uses as separators ("manifests", "blobs", ...),
// so the route is decided by the path's tail: the name is everything before
// the last separator.
func parseRoute(p string) route {
	rest, ok := strings.CutPrefix(p, "/v2")
	if !ok {
		return route{}
	}
	switch rest {
	case "", "/":
		return route{kind: routeBase}
	case "/_catalog":
		return route{kind: routeCatalog}
	}
	if rest[0] != '/' {
		return route{}
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok {
		return named(routeTags, name, "")
	}
	// POST /v2/<name>/blobs/uploads without the trailing slash.
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads"); ok {
		return named(routeUploadStart, name, "")
	}
	i := strings.LastIndexByte(rest, '/')
	prefix, last := rest[:i], rest[i+1:]
	if name, ok := strings.CutSuffix(prefix, "/blobs/uploads"); ok {
		if last == "" {
			return named(routeUploadStart, name, "")
		}
		return named(routeUpload, name, last)
	}
	if last == "" {
		return route{}
	}
	if name, ok := strings.CutSuffix(prefix, "/manifests"); ok {
		return named(routeManifest, name, last)
	}
	if name, ok := strings.CutSuffix(prefix, "/blobs"); ok {
		return named(routeBlob, name, last)
	}
	if name, ok := strings.CutSuffix(prefix, "/referrers"); ok {
		return named(routeReferrers, name, last)
	}
	return route{}
}

// named builds a route whose name part (still led by its slash) is non-empty.
func named(kind routeKind, name, ref string) route {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return route{}
	}
	return route{kind: kind, name: name, ref: ref}
}
