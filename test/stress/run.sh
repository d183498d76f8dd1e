#!/usr/bin/env bash
# Stress the credit guard with pgbench against the server in PGHOST/PGPORT
# (make stress starts a throwaway one): many clients place random orders
# and payments for customers with tight limits, while others move
# customers between credit groups and change their limits.  With CRASH=1
# the server is stopped with "immediate" mode halfway and restarted, and
# the run goes on.  Then check.sql verifies from the data that no customer ever went
# past its limit, that every refusal had the documented SQLSTATE, and that
# verify_exposure() and verify_account_copy() find no mismatch.
#   STRESS_SECONDS (default 60), STRESS_CLIENTS (16), STRESS_CUSTOMERS (50),
#   STRESS_DB (regress_stress: created and dropped here; a database of that
#   name that test/scratch_db.sh did not create is left alone and the run
#   stops)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
. test/scratch_db.sh
seconds=${STRESS_SECONDS:-60}
clients=${STRESS_CLIENTS:-16}
customers=${STRESS_CUSTOMERS:-50}
crash=${CRASH:-0}
db=${STRESS_DB:-regress_stress}
out=${STRESS_OUT:-test/out}
mkdir -p "$out"

scratch_db_create "$db"
psql -X -q -d "$db" -v customers="$customers" -f test/stress/setup.sql >/dev/null

run_pgbench() {
	# (the database is pgbench's last argument: its -d is --debug)
	"$PG_BINDIR/pgbench" -n -c "$clients" -j 2 -T "$1" -D customers="$customers" \
		-f test/stress/workload.pgbench "${@:2}" "$db"
}

if [ "$crash" = 1 ]; then
	half=$((seconds / 2))
	echo "== $clients clients for ${half}s, then an immediate stop of the server"
	run_pgbench "$seconds" >"$out/stress-before-crash.log" 2>&1 &
	bench=$!
	sleep "$half"
	datadir=$(psql -X -At -d "$db" -c 'SHOW data_directory')
	as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else eval "$*"; fi; }
	as_postgres "$PG_BINDIR/pg_ctl -D '$datadir' stop -m immediate" >/dev/null
	wait "$bench" || true	# its clients lose their connection: expected
	echo "== restart"
	if command -v pg_ctlcluster >/dev/null && [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
		pg_ctlcluster "$PGVER" regress start
	else
		as_postgres "$PG_BINDIR/pg_ctl -D '$datadir' -w start" >/dev/null
	fi
	for _ in $(seq 1 30); do psql -X -At -d "$db" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
	echo "== verify after recovery"
	psql -X -At -d "$db" -c 'SELECT count(*) AS mismatches_after_crash FROM pgcredit.verify_exposure()' |
		sed 's/^/mismatches after crash: /'
	echo "== $clients clients for ${half}s more"
	run_pgbench "$half" >"$out/stress-after-crash.log" 2>&1
	tail -n 8 "$out/stress-after-crash.log"
else
	echo "== $clients clients for ${seconds}s"
	run_pgbench "$seconds" >"$out/stress.log" 2>&1
	tail -n 8 "$out/stress.log"
fi

result=$(psql -X -d "$db" -f test/stress/check.sql)
echo "$result"
grep -q '^stress check passed$' <<<"$result"
# no client of the last run failed (a deadlock or any unexpected error fails a transaction)
last=$( [ "$crash" = 1 ] && echo "$out/stress-after-crash.log" || echo "$out/stress.log")
if grep -qE 'number of failed transactions: [1-9]|aborted' "$last"; then
	echo "pgbench reports failed transactions"
	exit 1
fi
scratch_db_drop "$db"
