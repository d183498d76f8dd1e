#!/usr/bin/env bash
# Per-order cost of exposure categories (doc/performance.md): against the
# server in PGHOST/PGPORT, with pgcredit installed, each case 5 times in
# turn.  A build without categories (main before them) runs the first two
# cases only, so that two builds compare in one sitting:
#   pg_virtualenv ... bash test/bench/categories.sh main
#   pg_virtualenv ... bash test/bench/categories.sh branch
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-build}
run() { psql -X -q -v label="$which:$1" -v attach="$2" -v category="$3" -f test/bench/categories.sql 2>&1 | grep RESULT; }
for rep in 1 2 3 4 5; do
	run no_trigger false orders
	run default_orders true orders
	if [ "$(psql -X -qAtc "SELECT count(*) FROM pg_proc WHERE proname = 'add_category'")" = 1 ]; then
		run company_category true bench_deliveries
		run company_with_sublimit true bench_limited
		run builtin_with_sublimit true orders
	fi
done
