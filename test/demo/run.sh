#!/usr/bin/env bash
# make demo: install what is missing, build and install pgcredit, start a
# throwaway cluster, load the sample ledger and print the morning report
# of a credit manager, then how pgcredit produced it.
#
# With PGCREDIT_DESTDIR set, pgcredit is installed under that directory
# instead of into the server (no root needed) and the throwaway cluster
# finds it there through extension_destdir.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
. test/common.sh

csv="$SHARED_DATA/accounts-receivable.csv"
if [ ! -r "$csv" ]; then
	echo "pgcredit demo: the sample ledger $csv is missing." >&2
	echo "Set SHARED_DATA to the folder holding accounts-receivable.csv." >&2
	exit 1
fi

cluster_opts=()
echo "== building and installing pgcredit"
if [ -n "${PGCREDIT_DESTDIR:-}" ]; then
	make -s PG_CONFIG="$PG_CONFIG"
	make -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$PGCREDIT_DESTDIR" >/dev/null
	cluster_opts=(-o "extension_destdir=$PGCREDIT_DESTDIR")
else
	build_and_install
fi
echo "== loading the sample ledger into a throwaway PostgreSQL $PGVER cluster"
with_throwaway_cluster "${cluster_opts[@]}" bash -c '
	set -e
	psql -X -q -v ON_ERROR_STOP=1 -f test/demo/ledger.sql < "$1"
	psql -X -v ON_ERROR_STOP=1 -f test/demo/report.sql
' demo "$csv"
