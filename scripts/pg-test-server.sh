#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests, from the Debian server binaries.
#
#   scripts/pg-test-server.sh start [STATE_DIR]   start (or find running) and print its DSN
#   scripts/pg-test-server.sh dsn   [STATE_DIR]   print the DSN of the running server
#   scripts/pg-test-server.sh stop  [STATE_DIR]   stop it and delete STATE_DIR
#
# STATE_DIR (default ${TMPDIR:-/tmp}/berth-pg-test) holds the data directory,
# the log, the Unix socket and the chosen port. Each STATE_DIR is one server,
# so parallel runs use different directories. Both subcommands are idempotent.
#
# The server listens on 127.0.0.1 on a free port, trusts every local
# connection (never expose it) and keeps fsync on. The only output on stdout
# is the DSN, e.g.
#
#   postgres://postgres@127.0.0.1:54321/postgres?sslmode=disable
#
# PostgreSQL refuses to run as root, so as root (CI) initdb and pg_ctl run as
# the postgres OS user; any other user runs them as itself. If the server
# package is missing and we are root, it is installed with apt-get.
set -euo pipefail

PG_VERSION=15
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_VERSION/bin}

log() { printf 'pg-test-server: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

usage() { die "usage: $0 start|dsn|stop [STATE_DIR]"; }

[[ $# -ge 1 && $# -le 2 ]] || usage
cmd=$1
state=${2:-${TMPDIR:-/tmp}/berth-pg-test}
case $state in
/*) ;;
*) state=$PWD/$state ;;
esac
data=$state/data

# run COMMAND... as the user that owns the server.
run() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

ensure_installed() {
	[[ -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb ]] && return 0
	if ! dpkg-query -W -f='${Status}' "postgresql-$PG_VERSION" 2>/dev/null | grep -q 'install ok installed'; then
		[[ $(id -u) -eq 0 ]] || die "postgresql-$PG_VERSION is not installed and we are not root to install it"
		log "installing postgresql-$PG_VERSION"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "postgresql-$PG_VERSION" >&2
	fi
	[[ -x $PG_BIN/pg_ctl ]] || die "no pg_ctl in $PG_BIN"
}

dsn() { printf 'postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable\n' "$1"; }

running() {
	[[ -f $data/postmaster.pid && -f $state/port ]] && run "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

# port_in_use PORT: something accepts connections on it.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
	ensure_installed
	if running; then
		dsn "$(cat "$state/port")"
		return 0
	fi
	if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		die "no postgres OS user (the postgresql-$PG_VERSION package creates it)"
	fi

	if [[ -d $state && ! -f $state/.berth-pg-test && -n $(ls -A "$state") ]]; then
		die "$state is not empty and was not made by this script"
	fi
	mkdir -p "$state"
	touch "$state/.berth-pg-test"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$state"
	fi
	chmod 700 "$state"
	if [[ ! -f $data/PG_VERSION ]]; then
		rm -rf "$data"
		run "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
			>"$state/initdb.log" 2>&1 || {
			cat "$state/initdb.log" >&2
			die "initdb failed"
		}
	fi

	# A random port that is free now; if another process takes it before the
	# server binds, the start fails and the next port is tried.
	local attempt port
	for attempt in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		port_in_use "$port" && continue
		if run "$PG_BIN/pg_ctl" start -w -t 60 -D "$data" -l "$state/server.log" \
			-o "-c listen_addresses=127.0.0.1 -p $port -k '$state'" >/dev/null 2>&1; then
			echo "$port" >"$state/port"
			dsn "$port"
			return 0
		fi
		log "start on port $port failed (attempt $attempt)"
	done
	tail -n 20 "$state/server.log" >&2 || true
	die "could not start the server"
}

stop() {
	if [[ -f $data/postmaster.pid ]]; then
		run "$PG_BIN/pg_ctl" stop -w -t 60 -m fast -D "$data" >/dev/null 2>&1 || true
	fi
	# Only ever delete a directory this script made.
	if [[ -f $state/.berth-pg-test ]]; then
		rm -rf "$state"
	fi
}

case $cmd in
start) start ;;
dsn)
	running || die "no server running in $state"
	dsn "$(cat "$state/port")"
	;;
stop) stop ;;
*) usage ;;
esac
