// Package ecrcli is the AWS CLI end-to-end test of the seed workflow, the
// ECR walkthrough (seed/ECR.md: create a repository, get-login-password |
// docker login, build, tag, push, describe-images, pull, delete-repository):
// every command of it runs against a real berth process with only
// --endpoint-url added, and its printed output must have the shape the
// walkthrough shows.
//
// The test builds ./cmd/berth once, starts it on a free loopback port with
// root access keys, and drives it with the aws CLI and the Docker engine (or,
// without a Docker engine and outside CI, with crane).
//
// It skips only when the aws CLI is missing and CI is not "true"; under
// CI=true a missing aws CLI or Docker engine fails the run.
//
// Environment:
//
//	CI=true               missing tools fail instead of skip
//	BERTH_E2E_BIN         use this berth binary instead of building ./cmd/berth
//	BERTH_ECRCLI_CLIENT   docker or crane: force the image client (default:
//	                      docker when `docker info` works, else crane)
package ecrcli
