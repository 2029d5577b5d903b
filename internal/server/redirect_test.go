package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBlobGetRoute(t *testing.T) {
	const d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	tests := []struct {
		method, path string
		name, ref    string
		ok           bool
	}{
		{"GET", "/v2/app/blobs/" + d, "app", d, true},
		{"GET", "/v2/team/blobs/app/blobs/" + d, "team/blobs/app", d, true},
		{"HEAD", "/v2/app/blobs/" + d, "", "", false},
		{"DELETE", "/v2/app/blobs/" + d, "", "", false},
		{"GET", "/v2/app/blobs/uploads/0b4c", "", "", false},
		{"GET", "/v2/app/manifests/latest", "", "", false},
		{"GET", "/v2/", "", "", false},
		{"GET", "/ecr-layer/app/" + d, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			name, ref, ok := blobGetRoute(r)
			if ok != tc.ok || name != tc.name || ref != tc.ref {
				t.Fatalf("got (%q, %q, %v), want (%q, %q, %v)", name, ref, ok, tc.name, tc.ref, tc.ok)
			}
		})
	}
}

func TestHeadRecorder(t *testing.T) {
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }, http.StatusForbidden},
		{"implicit 200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, http.StatusOK},
		{"first wins", func(w http.ResponseWriter) { w.WriteHeader(404); w.WriteHeader(200) }, http.StatusNotFound},
		{"nothing", func(http.ResponseWriter) {}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &headRecorder{h: http.Header{}}
			tc.write(rec)
			if rec.status != tc.want {
				t.Fatalf("status %d, want %d", rec.status, tc.want)
			}
		})
	}
}
