#!/usr/bin/env bash
# Regenerates rpmdb.sqlite: a real rpm package database (sqlite backend, the
# format of RHEL/Rocky/AlmaLinux 9 at var/lib/rpm/rpmdb.sqlite) holding two
# empty noarch packages that the scan fixture tests match against OSV data:
#
#   openssl-libs 1:3.0.7-24.el9  (with an epoch; the tests mark it affected)
#   bash         5.1.8-9.el9     (no epoch; the tests mark it fixed)
#
# Needs Debian's rpm (rpmbuild, rpm) and sqlite3: apt-get install rpm sqlite3.
# The database is rebuilt with 1 KiB pages so the committed file stays small.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Fixed build metadata keeps the package headers stable across runs.
export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01T00:00:00Z

spec() { # name epoch version release
	{
		printf 'Name: %s\n' "$1"
		[[ -n $2 ]] && printf 'Epoch: %s\n' "$2"
		printf 'Version: %s\nRelease: %s\n' "$3" "$4"
		printf 'Summary: scan fixture\nLicense: MIT\nBuildArch: noarch\n'
		printf '%%description\nscan fixture\n%%files\n'
	} >"$work/$1.spec"
	rpmbuild --quiet -bb \
		--define "_topdir $work/top" \
		--define "_buildhost fixture" \
		--define "use_source_date_epoch_as_buildtime 1" \
		"$work/$1.spec"
}

spec openssl-libs 1 3.0.7 24.el9
spec bash "" 5.1.8 9.el9

mkdir "$work/db"
rpm --dbpath "$work/db" --initdb
rpm --dbpath "$work/db" -i --justdb --nodeps --noscripts --ignorearch --ignoreos \
	"$work"/top/RPMS/noarch/*.rpm 2>&1 | grep -v -e 'should not be used directly' -e 'know what you are doing' || true

# Shrink: rpm creates 4 KiB pages (about 50 of them for the index tables).
sqlite3 "$work/db/rpmdb.sqlite" 'PRAGMA journal_mode=DELETE; PRAGMA page_size=1024; VACUUM; PRAGMA journal_mode=WAL;' >/dev/null

rpm --dbpath "$work/db" -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n' | sort
install -m 0644 "$work/db/rpmdb.sqlite" "$here/rpmdb.sqlite"
ls -l "$here/rpmdb.sqlite"
