package e2e

import (
	"testing"

	"github.com/berth-registry/berth/test/internal/harness"
)

// conformanceWantPass is what the pinned OCI conformance suite
// (scripts/install-test-deps.sh) must count as passed; it changes only with
// the suite's version or configuration.
const conformanceWantPass = 986

// TestOCIConformance runs the OCI distribution-spec conformance suite against
// a fresh berth and requires every check to pass, none skipped.
func TestOCIConformance(t *testing.T) {
	bin := harness.RequireTool(t, "conformance")
	s := startServer(t)
	// The suite's mount checks need cross-repository mounting, which berth
	// (like ECR) leaves off until the account setting turns it on.
	if err := s.setAccountSetting(t.Context(), "BLOB_MOUNTING", "ENABLED"); err != nil {
		t.Fatal(err)
	}
	harness.RunConformance(t, harness.Conformance{
		Bin:      bin,
		Registry: s.Registry(),
		Username: harness.LoginUser,
		Password: s.password(),
		WantPass: conformanceWantPass,
	})
}
