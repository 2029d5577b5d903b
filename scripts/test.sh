#!/usr/bin/env bash
# The one test command, locally and in CI:
#
#   scripts/test.sh
#
# gofmt, go vet, then every test (unit, integration and the end-to-end suites
# under test/) under the race detector. The end-to-end suites need Docker and
# the tools scripts/install-test-deps.sh installs (skopeo, crane, the OCI
# conformance suite, the aws CLI, PostgreSQL, versitygw); they skip when one is
# missing, unless CI=true, where that is a failure.
# Extra arguments go to `go test`, e.g. scripts/test.sh -run TestCrane.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==== %s\n' "$*"; }

# Go tools installed by scripts/install-test-deps.sh live here.
PATH="$(go env GOPATH)/bin:$PATH"
export PATH

section "go version"
go version

section "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l)
if [[ -n $unformatted ]]; then
	printf 'not gofmt-ed (run gofmt -w on them):\n%s\n' "$unformatted" >&2
	exit 1
fi
echo "ok"

section "go vet ./..."
go vet ./...
echo "ok"

# -race needs cgo, even though berth itself is built with CGO_ENABLED=0.
# -count=1: the end-to-end suites exercise a berth binary built at run time,
# which go test's result cache cannot see.
section "go test -race ./... (unit, integration, end-to-end)"
CGO_ENABLED=1 go test -race -count=1 -timeout=25m "$@" ./...

# Benchmarks are not timed tests: each runs once so it keeps compiling and working.
if [[ $# -eq 0 ]]; then
	section "go test -bench . -benchtime=1x ./... (benchmarks, once)"
	go test -run '^$' -bench . -benchtime=1x -count=1 ./...
fi
