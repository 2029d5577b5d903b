#!/usr/bin/env bash
# Installs every tool the test suites drive. Idempotent: each tool is checked
# first, and when all are present the script does nothing (no network).
#
#   Debian packages: skopeo; postgresql-15 (internal/meta/postgres, test/scaleout);
#                    awscli when no aws CLI is on PATH (test/ecrcli);
#                    gcc, libc6-dev (go test -race needs cgo)
#   Go binaries:     crane, conformance (OCI distribution-spec conformance suite),
#                    versitygw (S3 server; keep its version equal to the one in
#                    scripts/s3-test-server.sh)
#
# Docker itself is not installed here: CI provides a running engine.
set -euo pipefail

# Later issues add podman, buildah, busybox-static.
APT_PACKAGES=(skopeo postgresql-15 gcc libc6-dev)
if ! command -v aws >/dev/null 2>&1; then
	APT_PACKAGES+=(awscli)
fi

# Go tools as "binary=package@version". Versions are pinned so every run tests
# against the same clients.
GO_TOOLS=(
	"crane=github.com/google/go-containerregistry/cmd/crane@v0.22.1"
	"conformance=github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111"
	"versitygw=github.com/versity/versitygw/cmd/versitygw@v1.8.0"
)

log() { printf 'install-test-deps: %s\n' "$*"; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "need root to run: $*"
		return 1
	fi
}

install_apt_packages() {
	local missing=() pkg
	for pkg in "${APT_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "debian packages present: ${APT_PACKAGES[*]}"
		return 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		log "apt-get not found; install these yourself: ${missing[*]}"
		return 1
	fi
	log "installing debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# installed_module_version prints the module version a Go binary was built
# from, or nothing when the binary is missing or carries no build info.
installed_module_version() {
	local bin=$1
	[[ -x $bin ]] || return 0
	go version -m "$bin" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

install_go_tools() {
	local gobin entry bin pkg want have
	gobin=$(go env GOBIN)
	[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
	for entry in "${GO_TOOLS[@]}"; do
		bin=${entry%%=*}
		pkg=${entry#*=}
		want=${pkg##*@}
		have=$(installed_module_version "$gobin/$bin")
		if [[ $have == "$want" ]]; then
			log "$bin $want present"
			continue
		fi
		log "installing $bin $want (found: ${have:-none})"
		# The tools are built as ordinary static binaries, whatever the caller's env.
		CGO_ENABLED=0 go install "$pkg"
	done
}

if ! command -v go >/dev/null 2>&1; then
	log "go not found on PATH"
	exit 1
fi

install_apt_packages
install_go_tools
log "done"
