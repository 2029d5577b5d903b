// Package e2e holds Berth's end-to-end suites. They build the berth binary
// once, start it as a real process on a free loopback port with a temporary
// data directory and fresh root keys, log in as ECR clients do (an ECR login
// token from GetAuthorizationToken), and drive it with real clients:
// go-containerregistry, raw HTTP, the OCI conformance suite, the Docker
// engine, skopeo and crane.
//
// A suite that needs an external tool skips when the tool is missing, except
// when CI=true: then a missing tool is a failure, so CI cannot go green by
// silently testing less.
//
// Environment:
//
//	CI=true          missing tools fail instead of skip
//	BERTH_E2E_BIN    use this berth binary instead of building ./cmd/berth
//	BERTH_E2E_RACE   1 or 0: build berth with or without -race
//	                 (default: the same as the test binary)
package e2e
