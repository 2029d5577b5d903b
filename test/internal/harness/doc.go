// Package harness is what the end-to-end suites under test/ share: building
// the berth binary once, finding test tools (skipping when one is missing,
// except under CI=true), running `berth serve` as a real process on a free
// loopback port, logging in as ECR clients do, and running the OCI
// distribution-spec conformance suite.
//
// It lives under test/internal so only the suites can import it.
package harness
