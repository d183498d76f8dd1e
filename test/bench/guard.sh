#!/usr/bin/env bash
# Single-order transactions with pgbench (2 clients) at several ledger
# sizes: an order table without a trigger, with pgcredit's guard, and with
# a PL/pgSQL trigger that sums the customer's open items on every insert.
# The three run in turn, GUARD_ROUNDS times, and the best of each counts,
# so that a passing disturbance of the machine does not favour one of them.
# Runs against the server in PGHOST/PGPORT (test/bench/run.sh starts one),
# in a database of its own, regress_bench_guard (test/scratch_db.sh).
# The last two columns are the wall time of one order transaction (2
# clients: 2 / tps), without and with the guard.
#   GUARD_SIZES (default "10000 1000000 10000000"), GUARD_SECONDS (10),
#   GUARD_ROUNDS (3)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
. test/scratch_db.sh
sizes=${GUARD_SIZES:-10000 1000000 10000000}
seconds=${GUARD_SECONDS:-10}
rounds=${GUARD_ROUNDS:-3}
db=regress_bench_guard
scratch_db_create "$db"
psql -X -q -d "$db" -c "CREATE EXTENSION pgcredit"

tps() {
	"$PG_BINDIR/pgbench" -n -d "$db" -c 2 -j 2 -T "$seconds" -f "test/bench/guard_$1.pgbench" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }

printf '\nSingle-order transactions, 2 clients, 1000 customers, best of %s runs of %ss\n' "$rounds" "$seconds"
printf '%-12s %12s %12s %12s %10s %10s %14s %14s\n' invoices 'no trigger' pgcredit 'PL/pgSQL' 'pgcredit' 'PL/pgSQL' 'no trigger' 'pgcredit'
printf '%-12s %12s %12s %12s %10s %10s %14s %14s\n' '' tps tps tps 'ratio' 'ratio' 'us/order' 'us/order'
for n in $sizes; do
	psql -X -q -d "$db" -v rows="$n" -f test/bench/guard_setup.sql >/dev/null
	a=(); b=(); c=()
	for _ in $(seq 1 "$rounds"); do
		a+=("$(tps plain)"); b+=("$(tps pgcredit)"); c+=("$(tps plpgsql)")
	done
	plain=$(best "${a[@]}"); guard=$(best "${b[@]}"); plpgsql=$(best "${c[@]}")
	mismatches=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pgcredit.verify_exposure()")
	awk -v n="$n" -v a="$plain" -v b="$guard" -v c="$plpgsql" \
		'BEGIN { printf "%-12s %12.0f %12.0f %12.0f %10.2f %10.3f %14.0f %14.0f\n", n, a, b, c, b / a, c / a, 2e6 / a, 2e6 / b }'
	[ "$mismatches" = 0 ] || { echo "verify_exposure() found $mismatches mismatches"; exit 1; }
done
scratch_db_drop "$db"
