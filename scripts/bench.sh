#!/usr/bin/env bash
# Measures Berth beside CNCF Distribution in one run of `berth bench`:
# builds berth, starts it with production settings (auth on, ECR login
# token, log level info), starts Distribution v3.1.2 (filesystem storage)
# on another port, and prints one table with every scenario's figure, its
# ratio to this machine's ceilings and the Berth/Distribution ratio.
#
#   scripts/bench.sh                 # the full run (several minutes)
#   scripts/bench.sh --smoke         # a quick correctness run
#   scripts/bench.sh --duration 5s --scenarios manifest-get,tag-put
#
# Extra arguments go to `berth bench`. Environment: BERTH_PORT (5100),
# DIST_PORT (5101), BENCH_DIR (a fresh temporary directory; put it on the
# disk you want to measure), BENCH_PPROF=1 to serve /debug/pprof on Berth.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
berth_port="${BERTH_PORT:-5100}"
dist_port="${DIST_PORT:-5101}"
dist_version="v3.1.2"
work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")}"
mkdir -p "$work"

pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -z "${BENCH_DIR:-}" ]]; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT

echo "bench: building berth" >&2
(cd "$root" && CGO_ENABLED=0 go build -o "$work/berth" ./cmd/berth)

registry="$(command -v registry || true)"
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"
if [[ -z "$registry" && -x "$gobin/registry" ]]; then
	registry="$gobin/registry"
fi
if [[ -z "$registry" ]]; then
	echo "bench: installing CNCF Distribution $dist_version" >&2
	CGO_ENABLED=0 go install "github.com/distribution/distribution/v3/cmd/registry@$dist_version"
	registry="$gobin/registry"
fi

wait_up() { # url name pid
	for _ in $(seq 1 100); do
		if ! kill -0 "$3" 2>/dev/null; then
			echo "bench: $2 exited; its log:" >&2
			cat "$work/$2.log" >&2
			exit 1
		fi
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: $2 did not come up at $1" >&2
	exit 1
}

# Berth: production settings. The root key is generated for this run and
# reaches the bench through the AWS SDK's default credential chain.
key_id="AKIA$(head -c 32 /dev/urandom | base32 | tr -dc 'A-Z2-7' | head -c 16)"
secret="$(head -c 30 /dev/urandom | base64 | tr -d '\n/+=' | head -c 40)"
berth_args=(serve --listen "127.0.0.1:$berth_port" --public-url "http://127.0.0.1:$berth_port"
	--data-dir "$work/berth-data" --create-on-push --log-level info)
if [[ "${BENCH_PPROF:-}" == 1 ]]; then
	berth_args+=(--debug-pprof)
fi
BERTH_ROOT_ACCESS_KEY_ID="$key_id" BERTH_ROOT_SECRET_ACCESS_KEY="$secret" \
	"$work/berth" "${berth_args[@]}" >"$work/berth.log" 2>&1 &
berth_pid=$!
pids+=("$berth_pid")

mkdir -p "$work/dist-data"
cat >"$work/dist.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $work/dist-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dist_port
YAML
OTEL_TRACES_EXPORTER="${OTEL_TRACES_EXPORTER:-none}" "$registry" serve "$work/dist.yml" >"$work/distribution.log" 2>&1 &
dist_pid=$!
pids+=("$dist_pid")

wait_up "http://127.0.0.1:$berth_port/healthz" berth "$berth_pid"
wait_up "http://127.0.0.1:$dist_port/v2/" distribution "$dist_pid"

# On thin-provisioned VM disks the speed of a write depends on the history
# of the blocks it lands on: blocks the filesystem has discarded take writes
# several times faster than blocks that still hold stale data. Discarding
# all free space first gives every participant the same kind of blocks and
# steadies push-large from round to round. Best effort: it needs root and a
# device that supports discard.
# The outcome goes to stdout, beside the table it qualifies.
if command -v fstrim >/dev/null 2>&1 && fstrim "$work" 2>/dev/null; then
	echo "disk: free space discarded before the run (fstrim)"
else
	echo "disk: free space not discarded (fstrim unavailable or not root); push-large may drift more between rounds"
fi

echo "bench: berth pid $berth_pid, distribution pid $dist_pid, data in $work" >&2
AWS_ACCESS_KEY_ID="$key_id" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	"$work/berth" bench \
	--name berth --url "http://127.0.0.1:$berth_port" --ecr --server-pid "$berth_pid" \
	--compare-name distribution --compare-url "http://127.0.0.1:$dist_port" --compare-pid "$dist_pid" \
	--ceiling-dir "$work" "$@"
