#!/usr/bin/env bash
# make installcheck from a source tarball, as a packager or a DBA runs it
# on a release: the tree is exported with git archive (with the
# uncommitted changes of tracked files) into a temporary directory away
# from this checkout, built, installed under a DESTDIR there, and make
# installcheck (regression files and isolation specs, through PGXS) runs
# on a throwaway cluster that finds the build through Debian's
# extension_destdir.  The shared sample ledger is out of reach, so
# csv_sample and ibm_sample take their skip path (expected/*_1.out).
# Run as root, it first checks that make installcheck without PGUSER
# stops with advice instead of failing every file.
# Needs git, pg_virtualenv (postgresql-common) and the build dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PGVER=${PGVER:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGVER/bin/pg_config}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$(git stash create 2>/dev/null || true)
git archive --prefix=pgcredit/ "${tree:-HEAD}" | tar -x -C "$work"
cd "$work/pgcredit"

echo "== build and install into $work/dest"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$work/dest" >/dev/null
chmod -R a+rX "$work"	# the server runs as postgres

if [ "$(id -u)" -eq 0 ]; then
	echo "== as root without PGUSER: advice, not a failure of every file"
	if out=$(env -u PGUSER make -s PG_CONFIG="$PG_CONFIG" installcheck 2>&1); then
		echo "make installcheck ran as root without PGUSER"
		exit 1
	fi
	echo "$out"
	grep -q 'set PGUSER' <<<"$out"
	[ ! -d results ] || { echo "it ran pg_regress all the same"; exit 1; }
fi

echo "== make installcheck on a throwaway PostgreSQL $PGVER cluster"
# a cluster of its own even when run against another one (make test):
# pg_virtualenv would take the port and host of the one in the environment
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE
if ! SHARED_DATA=/nonexistent pg_virtualenv -t -v "$PGVER" -c "--locale=C.UTF-8" \
	-o "extension_destdir=$work/dest" make PG_CONFIG="$PG_CONFIG" installcheck; then
	cat regression.diffs output_iso/regression.diffs 2>/dev/null | head -n 200
	exit 1
fi
echo "installcheck from a tarball: ok"
