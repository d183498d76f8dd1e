#!/usr/bin/env bash
# make bench: build and install pgcredit, then time its functions against
# plain SQL doing the same job on a throwaway cluster, printing ratios.
# BENCH_ROWS sets the size of the aging_bucket run (default 1000000) and
# BENCH_SIZES the ledger sizes of the analytics runs (default 1 and 10
# million invoices); CSV_ROWS the size of the CSV load against COPY
# (default 1000000); RISK_ROWS and RISK_CUSTOMERS those of the risk views (default 10000000 invoices of 100000 customers);
# SCORE_ROWS and SCORE_CUSTOMERS those of the nightly scoring (default 1000000 invoices of 100000 customers);
# COLL_ROWS and COLL_CUSTOMERS those of the collections run (default 10000000 invoices of 100000 customers).
# The credit guard's pgbench runs (test/bench/guard.sh, its GUARD_*
# settings) follow on a server of their own, with fsync and synchronous
# commit off so that commits do not wait for the disk; `make bench-guard`
# (test/bench/run.sh guard) runs only them, `make bench-collections`
# only the collections run, `make bench-reads` only the risk views',
# `make bench-analytics` only the aggregates'.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
. test/common.sh
rows=${BENCH_ROWS:-1000000}
sizes=${BENCH_SIZES:-1000000 10000000}
csv_rows=${CSV_ROWS:-1000000}
risk_rows=${RISK_ROWS:-10000000}
risk_customers=${RISK_CUSTOMERS:-100000}
score_rows=${SCORE_ROWS:-1000000}
score_customers=${SCORE_CUSTOMERS:-100000}
coll_rows=${COLL_ROWS:-10000000}
coll_customers=${COLL_CUSTOMERS:-100000}

# The guard's benchmark measures single-row transactions: their commits
# must not wait for the disk (fsync=off, synchronous_commit=off), or the
# waits would hide the work.  full_page_writes stays on, as on any server
# where a crash must not tear pages: the first change of a page after a
# checkpoint logs the whole page, and guard.sh takes a checkpoint before
# each run, so every configuration pays the same.
run_guard() {
	with_throwaway_cluster -o shared_buffers=1GB -o fsync=off -o synchronous_commit=off \
		-o full_page_writes=on -o max_wal_size=4GB -o checkpoint_timeout=1h \
		bash test/bench/guard.sh
}

build_and_install
if [ "${1:-}" = guard ]; then
	run_guard
	exit
fi
# `make bench-collections` (test/bench/run.sh collections): only the
# collections run
if [ "${1:-}" = collections ]; then
	with_throwaway_cluster -o "shared_buffers=1GB" -o "work_mem=256MB" bash -c '
		set -e
		. test/scratch_db.sh
		scratch_db_create regress_bench
		export PGDATABASE=regress_bench
		psql -X -q -c "CREATE EXTENSION pgcredit"
		psql -X -v coll_rows="$1" -v coll_customers="$2" -f test/bench/collections.sql
		scratch_db_drop regress_bench
	' bench "$coll_rows" "$coll_customers"
	exit
fi
# `make bench-analytics` (test/bench/run.sh analytics): only the
# aggregates against sum() and plain SQL, at the BENCH_SIZES
if [ "${1:-}" = analytics ]; then
	with_throwaway_cluster -o "shared_buffers=1GB" -o "work_mem=256MB" bash -c '
		set -e
		. test/scratch_db.sh
		scratch_db_create regress_bench
		export PGDATABASE=regress_bench
		psql -X -q -c "CREATE EXTENSION pgcredit"
		for n in $1; do
			psql -X -v rows="$n" -f test/bench/analytics.sql
		done
		scratch_db_drop regress_bench
	' bench "$sizes"
	exit
fi
# `make bench-reads` (test/bench/run.sh reads): only the risk views' run
if [ "${1:-}" = reads ]; then
	with_throwaway_cluster -o "shared_buffers=1GB" -o "work_mem=256MB" bash -c '
		set -e
		. test/scratch_db.sh
		scratch_db_create regress_bench
		export PGDATABASE=regress_bench
		psql -X -q -c "CREATE EXTENSION pgcredit"
		psql -X -v risk_rows="$1" -v risk_customers="$2" -f test/bench/risk.sql
		scratch_db_drop regress_bench
	' bench "$risk_rows" "$risk_customers"
	exit
fi
# In a database of its own (test/scratch_db.sh): the benchmarks drop
# tables and empty pgcredit's accounts.
with_throwaway_cluster -o "shared_buffers=1GB" -o "work_mem=256MB" bash -c '
	set -e
	. test/scratch_db.sh
	scratch_db_create regress_bench
	export PGDATABASE=regress_bench
	psql -X -q -c "CREATE EXTENSION pgcredit"
	psql -X -v rows="$1" -f test/bench/aging_bucket.sql
	for n in $2; do
		psql -X -v rows="$n" -f test/bench/analytics.sql
	done
	psql -X -v csv_rows="$3" -f test/bench/csv_load.sql
	psql -X -v risk_rows="$4" -v risk_customers="$5" -f test/bench/risk.sql
	psql -X -v score_rows="$6" -v score_customers="$7" -f test/bench/scoring.sql
	psql -X -v coll_rows="$8" -v coll_customers="$9" -f test/bench/collections.sql
	scratch_db_drop regress_bench
' bench "$rows" "$sizes" "$csv_rows" "$risk_rows" "$risk_customers" "$score_rows" "$score_customers" \
	"$coll_rows" "$coll_customers"
run_guard
