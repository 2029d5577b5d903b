package server

import (
	"strings"
	"testing"
)

// Minted request ids are unique, pass the same check as client-sent ones,
// and differ between processes by their random prefix.
func TestRequestIDsAreUniqueAndValid(t *testing.T) {
	a, b := newRequestIDs(), newRequestIDs()
	if a.prefix == b.prefix {
		t.Fatalf("two generators share the prefix %q", a.prefix)
	}
	seen := make(map[string]bool)
	for range 10000 {
		id := a.next()
		if seen[id] {
			t.Fatalf("id %q minted twice", id)
		}
		seen[id] = true
		if !validRequestID(id) || !strings.HasPrefix(id, a.prefix) {
			t.Fatalf("id %q: invalid or without its prefix", id)
		}
	}
}
