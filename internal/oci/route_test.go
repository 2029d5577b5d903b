package oci

import (
	"net/http"
	"testing"
)

const testDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path string
		want route
	}{
		{"/v2/", route{kind: routeBase}},
		{"/v2", route{kind: routeBase}},
		{"/v2/_catalog", route{kind: routeCatalog}},
		{"/v2/foo/tags/list", route{routeTags, "foo", ""}},
		{"/v2/a/b/c/tags/list", route{routeTags, "a/b/c", ""}},
		{"/v2/foo/manifests/latest", route{routeManifest, "foo", "latest"}},
		{"/v2/foo/manifests/" + testDigest, route{routeManifest, "foo", testDigest}},
		{"/v2/foo/blobs/" + testDigest, route{routeBlob, "foo", testDigest}},
		{"/v2/foo/blobs/uploads/", route{routeUploadStart, "foo", ""}},
		{"/v2/foo/blobs/uploads", route{routeUploadStart, "foo", ""}},
		{"/v2/foo/blobs/uploads/abc-123", route{routeUpload, "foo", "abc-123"}},
		{"/v2/foo/referrers/" + testDigest, route{routeReferrers, "foo", testDigest}},
		// Names containing the API's own words: the tail decides.
		{"/v2/manifests/manifests/latest", route{routeManifest, "manifests", "latest"}},
		{"/v2/a/manifests/b/manifests/v1", route{routeManifest, "a/manifests/b", "v1"}},
		{"/v2/blobs/blobs/" + testDigest, route{routeBlob, "blobs", testDigest}},
		{"/v2/x/blobs/uploads/y/blobs/uploads/", route{routeUploadStart, "x/blobs/uploads/y", ""}},
		{"/v2/x/blobs/uploads/manifests/latest", route{routeManifest, "x/blobs/uploads", "latest"}},
		{"/v2/tags/list/tags/list", route{routeTags, "tags/list", ""}},
		{"/v2/referrers/referrers/" + testDigest, route{routeReferrers, "referrers", testDigest}},
		{"/v2/_catalog/tags/list", route{routeTags, "_catalog", ""}},
		// Not routes.
		{"/", route{}},
		{"/v1/foo/manifests/latest", route{}},
		{"/v2x/foo/manifests/latest", route{}},
		{"/v2/foo", route{}},
		{"/v2/foo/bar", route{}},
		{"/v2/foo/manifests/", route{}},
		{"/v2/foo/blobs/", route{}},
		{"/v2/foo/referrers/", route{}},
		{"/v2/manifests/latest", route{}},
		{"/v2//manifests/latest", route{}},
		{"/v2/tags/list", route{}},
		{"/v2/blobs/uploads/", route{}},
		{"/v2/foo/blobs/uploads/id/extra", route{}},
		{"/v2/_catalog/", route{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := parseRoute(tt.path)
			if got != tt.want {
				t.Fatalf("parseRoute(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func TestRouteName(t *testing.T) {
	tests := []struct {
		method, path, want string
	}{
		{http.MethodGet, "/v2/", "base"},
		{http.MethodGet, "/v2/_catalog", "catalog"},
		{http.MethodGet, "/v2/a/b/tags/list", "tags_list"},
		{http.MethodHead, "/v2/a/manifests/latest", "manifest"},
		{http.MethodPut, "/v2/a/manifests/latest", "manifest"},
		{http.MethodGet, "/v2/a/blobs/" + testDigest, "blob"},
		{http.MethodPost, "/v2/a/blobs/uploads/", "blob_upload_start"},
		{http.MethodPatch, "/v2/a/blobs/uploads/u1", "blob_upload"},
		{http.MethodGet, "/v2/a/referrers/" + testDigest, "referrers"},
		{http.MethodGet, "/v2/a/nothing", "unknown"},
		{http.MethodGet, "/metrics", "unknown"},
		// A method the route does not serve.
		{http.MethodPost, "/v2/a/manifests/latest", "unknown"},
		{http.MethodPatch, "/v2/a/blobs/" + testDigest, "unknown"},
	}
	for _, tt := range tests {
		if got := RouteName(tt.method, tt.path); got != tt.want {
			t.Errorf("RouteName(%s, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{
		"/v2/", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/a/manifests/latest",
		"/v2/a/blobs/" + testDigest, "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x",
		"/v2/a/referrers/" + testDigest, "/v2/manifests/manifests/x", "/v2//", "/v2/a//blobs/uploads",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt := parseRoute(p)
		_ = RouteName(http.MethodGet, p)
		if rt.kind == routeUnknown {
			return
		}
		switch rt.kind {
		case routeBase, routeCatalog:
		default:
			if rt.name == "" {
				t.Fatalf("parseRoute(%q) = %+v: empty name", p, rt)
			}
		}
		switch rt.kind {
		case routeManifest, routeBlob, routeUpload, routeReferrers:
			if rt.ref == "" {
				t.Fatalf("parseRoute(%q) = %+v: empty reference", p, rt)
			}
		}
		// Round trip: the canonical path parses back to the same route.
		if back := parseRoute(rt.path()); back != rt {
			t.Fatalf("parseRoute(%q) = %+v, but its path %q parses to %+v", p, rt, rt.path(), back)
		}
	})
}

// path renders a route back to its canonical path.
func (rt route) path() string {
	switch rt.kind {
	case routeBase:
		return "/v2/"
	case routeCatalog:
		return "/v2/_catalog"
	case routeTags:
		return "/v2/" + rt.name + "/tags/list"
	case routeManifest:
		return "/v2/" + rt.name + "/manifests/" + rt.ref
	case routeBlob:
		return "/v2/" + rt.name + "/blobs/" + rt.ref
	case routeUploadStart:
		return "/v2/" + rt.name + "/blobs/uploads/"
	case routeUpload:
		return "/v2/" + rt.name + "/blobs/uploads/" + rt.ref
	case routeReferrers:
		return "/v2/" + rt.name + "/referrers/" + rt.ref
	}
	return ""
}
