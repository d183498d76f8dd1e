#!/usr/bin/env bash
# make bench: build and install pgcredit, then time its functions against
# plain SQL doing the same job on a throwaway cluster, printing ratios.
# BENCH_ROWS sets the ledger size (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
. test/common.sh
rows=${BENCH_ROWS:-1000000}

build_and_install
with_throwaway_cluster -o "shared_buffers=1GB" -o "work_mem=256MB" bash -c '
	set -e
	psql -X -q -c "CREATE EXTENSION IF NOT EXISTS pgcredit"
	psql -X -v rows="$1" -f test/bench/aging_bucket.sql
' bench "$rows"
