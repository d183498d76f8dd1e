#!/usr/bin/env bash
# make test-citus: pgcredit on a Citus cluster of a coordinator and two
# workers, all on this machine, thrown away at the end.  Citus is not
# packaged in Debian 12 and not needed by make test: build it first, as
# root, with ../shared/vendor/build-citus.sh (about ten minutes).  Where
# Citus is not installed this says so and stops without failing.
#
# The cluster is test/citus/cluster.sh's (ports 57636-57638, which the
# expected output names).  pgcredit is built and installed as for the
# other suites; the SQL files of test/citus/sql run
# through pg_regress against the coordinator, their output compared with
# test/citus/expected; then test/citus/race.sh races orders for the same
# customers from many coordinator sessions, and test/citus/same.sh
# compares every view and reader's function on the coordinator with one
# node's over the same ledger.  The last line counts them as make test
# does.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
NAME=test-citus
. test/citus/cluster.sh
tests=$(cd test/citus/sql && ls *.sql | sed 's/\.sql$//')
out=test/out/citus
rm -rf "$out"
mkdir -p "$out"
chown -R postgres "$out"
status=0
as_pg env PGHOST="$top" PGPORT="$port" CITUS_WORKER1=$((port + 1)) CITUS_WORKER2=$((port + 2)) \
	"$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
	--use-existing --host="$top" --port="$port" --inputdir=test/citus --outputdir="$out" \
	--dbname=postgres $tests >"$out/pg_regress.log" 2>&1 || status=$?
cat "$out/pg_regress.log" | grep -E '^(ok|not ok|test |     )' || true
passed=$(grep -cE '^(ok|test .* \.\.\. ok)' "$out/pg_regress.log" || true)
failed=$(grep -cE '^(not ok|test .* \.\.\. FAILED)' "$out/pg_regress.log" || true)
if [ "$status" -ne 0 ] && [ -f "$out/regression.diffs" ]; then
	head -100 "$out/regression.diffs"
fi
# the race: coordinator sessions ordering at once, checked from the data
if as_pg env PGHOST="$top" PGPORT="$port" PATH="$bindir:$PATH" bash test/citus/race.sh >"$out/race.log" 2>&1; then
	passed=$((passed + 1))
	echo "race.sh ... ok"
else
	failed=$((failed + 1))
	status=1
	echo "race.sh ... FAILED"
fi
sed 's/^/  /' "$out/race.log"
# the reads on the coordinator against one node's, over the same ledger
if as_pg env PGHOST="$top" PGPORT="$port" PATH="$bindir:$PATH" bash test/citus/same.sh >"$out/same.log" 2>&1; then
	passed=$((passed + 1))
	echo "same.sh ... ok ($(tail -1 "$out/same.log"))"
else
	failed=$((failed + 1))
	status=1
	echo "same.sh ... FAILED"
	grep -v '^ok' "$out/same.log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
