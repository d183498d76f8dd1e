#!/usr/bin/env bash
# make demo: install what is missing, build and install pgcredit, start a
# throwaway cluster, load the sample ledger and print the credit report.
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

echo "== building and installing pgcredit"
build_and_install
echo "== loading the sample ledger into a throwaway PostgreSQL $PGVER cluster"
with_throwaway_cluster bash -c '
	set -e
	psql -X -q -v ON_ERROR_STOP=1 -f test/demo/ledger.sql < "$1"
	psql -X -v ON_ERROR_STOP=1 -f test/demo/report.sql
' demo "$csv"
