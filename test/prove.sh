#!/usr/bin/env bash
# make prove: run the TAP tests (test/t/*.pl, or the files given) against
# the installed build, each on a PostgreSQL node of its own, TAP_JOBS
# (default 2) at a time; as root, as the postgres user.  Set
# PGCREDIT_DESTDIR when the build was installed with DESTDIR.  Ends with
# "N passed, N failed"; logs in test/out/tap.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

if [ $# -eq 0 ]; then
	set -- test/t/*.pl
fi
if [ -n "${PGCREDIT_DESTDIR:-}" ]; then
	echo "== TAP tests, with pgcredit as installed under $PGCREDIT_DESTDIR"
else
	echo "== TAP tests, with pgcredit as installed in $("$PG_CONFIG" --sharedir)"
fi
rm -rf test/out/tap
run_files "${TAP_JOBS:-2}" test/out/tap "$@"
echo "$files_pass passed, $files_fail failed"
[ "$files_fail" -eq 0 ]
