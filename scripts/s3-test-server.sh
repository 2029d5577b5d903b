#!/usr/bin/env bash
# Starts a local S3 server (versitygw, posix backend) for the S3 blob store's
# tests, or stops one.
#
#   eval "$(scripts/s3-test-server.sh start)"    # prints shell exports
#   ... go test ./internal/blob/s3/ ...
#   scripts/s3-test-server.sh stop "$BERTH_S3_TEST_DIR"
#
# start [DIR]  installs versitygw if absent (unless BERTH_S3_NO_INSTALL=1),
#              serves DIR (default: a new temp dir) on a free 127.0.0.1 port
#              with random static root credentials, creates the bucket
#              $BERTH_S3_BUCKET (default berth-test), and prints exports:
#              AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
#              AWS_ENDPOINT_URL_S3, BERTH_S3_URL and BERTH_S3_TEST_DIR.
#              With BERTH_S3_PARENT_PID=PID, the server also stops (and DIR
#              goes) when process PID exits.
# stop DIR     stops the server started on DIR and removes DIR.
# install      installs versitygw only.
#
# Logs go to stderr and DIR/versitygw.log; stdout carries only the exports.
set -euo pipefail

VERSITYGW_PKG="github.com/versity/versitygw/cmd/versitygw@v1.8.0"
BUCKET=${BERTH_S3_BUCKET:-berth-test}
REGION=us-east-1
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

log() { printf 's3-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

gobin() {
	local d
	d=$(go env GOBIN 2>/dev/null || true)
	[[ -n $d ]] || d="$(go env GOPATH)/bin"
	printf '%s' "$d"
}

find_versitygw() {
	if command -v versitygw >/dev/null 2>&1; then
		command -v versitygw
	elif command -v go >/dev/null 2>&1 && [[ -x "$(gobin)/versitygw" ]]; then
		printf '%s' "$(gobin)/versitygw"
	fi
}

install_versitygw() {
	local bin
	bin=$(find_versitygw)
	if [[ -n $bin ]]; then
		printf '%s' "$bin"
		return 0
	fi
	[[ ${BERTH_S3_NO_INSTALL:-} != 1 ]] || die "versitygw not found and BERTH_S3_NO_INSTALL=1"
	command -v go >/dev/null 2>&1 || die "versitygw not found and no go toolchain to install it"
	log "installing $VERSITYGW_PKG"
	CGO_ENABLED=0 go install "$VERSITYGW_PKG" >&2
	printf '%s' "$(gobin)/versitygw"
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
	local bin dir port pid try access secret endpoint
	bin=$(install_versitygw)
	dir=${1:-}
	if [[ -z $dir ]]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-s3.XXXXXX")
	fi
	mkdir -p "$dir/data"
	[[ ! -f $dir/pid ]] || die "$dir already has a server (pid $(cat "$dir/pid")); stop it first"
	access=$(rand_hex 10)
	secret=$(rand_hex 20)
	# A port that looks free may be taken before versitygw binds it; retry.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
			"$bin" --port "127.0.0.1:$port" --region "$REGION" --quiet \
			posix "$dir/data" >"$dir/versitygw.log" 2>&1 </dev/null &
		pid=$!
		endpoint="http://127.0.0.1:$port"
		local i
		for i in $(seq 1 100); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if curl -s -o /dev/null "$endpoint/" 2>/dev/null; then
				echo "$pid" >"$dir/pid"
				break 2
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		log "versitygw did not start on port $port (try $try): $(tail -n 3 "$dir/versitygw.log" 2>/dev/null)"
		pid=
	done
	[[ -n ${pid:-} ]] || die "could not start versitygw"

	# Create the bucket with a SigV4-signed PUT (curl signs it; no AWS CLI needed).
	local code
	code=$(curl -s -o "$dir/create-bucket.out" -w '%{http_code}' -X PUT \
		-H "x-amz-content-sha256: $EMPTY_SHA256" --aws-sigv4 "aws:amz:$REGION:s3" --user "$access:$secret" \
		"$endpoint/$BUCKET")
	if [[ $code != 200 ]]; then
		stop "$dir"
		die "create bucket $BUCKET: HTTP $code: $(cat "$dir/create-bucket.out")"
	fi
	# With BERTH_S3_PARENT_PID set (tests set their own pid), a watchdog stops
	# the server and removes DIR when that process dies without calling stop,
	# so an interrupted test run leaves nothing behind.
	if [[ -n ${BERTH_S3_PARENT_PID:-} ]]; then
		(
			while kill -0 "$BERTH_S3_PARENT_PID" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
				sleep 1
			done
			if kill -0 "$pid" 2>/dev/null; then
				kill "$pid" 2>/dev/null || true
				sleep 1
				rm -rf "$dir"
			fi
		) </dev/null >/dev/null 2>&1 &
	fi
	log "versitygw pid $pid serving $dir/data at $endpoint, bucket $BUCKET"
	cat <<-EXPORTS
		export AWS_ACCESS_KEY_ID=$access
		export AWS_SECRET_ACCESS_KEY=$secret
		export AWS_REGION=$REGION
		export AWS_ENDPOINT_URL_S3=$endpoint
		export BERTH_S3_URL='s3://$BUCKET/berth?endpoint=$endpoint&region=$REGION&path-style=true'
		export BERTH_S3_TEST_DIR=$dir
	EXPORTS
}

stop() {
	local dir=${1:-${BERTH_S3_TEST_DIR:-}}
	[[ -n $dir ]] || die "usage: $0 stop DIR"
	if [[ -f $dir/pid ]]; then
		local pid
		pid=$(cat "$dir/pid")
		# Only a versitygw we started: check the command line before killing.
		if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q versitygw; then
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/pid"
	fi
	case $dir in
	"" | / | "$HOME") die "refusing to remove $dir" ;;
	esac
	rm -rf "$dir"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
install) install_versitygw >/dev/null ;;
*) die "usage: $0 start [DIR] | stop DIR | install" ;;
esac
