#!/usr/bin/env bash
# make test-citus: pgcredit on a Citus cluster of a coordinator and two
# workers, all on this machine, thrown away at the end.  Citus is not
# packaged in Debian 12 and not needed by make test: build it first, as
# root, with ../shared/vendor/build-citus.sh (about ten minutes).  Where
# Citus is not installed this says so and stops without failing.
#
# Each node is a PostgreSQL 15 cluster in a temporary directory, run as
# the postgres user on its own port (57636, 57637, 57638: the expected
# output names the workers' ports), with citus in shared_preload_libraries.  pgcredit is built and
# installed as for the other suites; the SQL files of test/citus/sql run
# through pg_regress against the coordinator, their output compared with
# test/citus/expected; then test/citus/race.sh races orders for the same
# customers from many coordinator sessions.  The last line counts them as
# make test does.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
PG_CONFIG=${PG_CONFIG:-pg_config}
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
	echo "test-citus: skipped: Citus is not installed for PostgreSQL $("$PG_CONFIG" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')."
	echo "  Build and install it as root with: bash ../shared/vendor/build-citus.sh (about ten minutes)."
	echo "  make test does not need it."
	exit 0
fi
build_and_install >/dev/null
bindir=$("$PG_CONFIG" --bindir)
port=57636
for p in 57636 57637 57638; do
	if (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
		echo "test-citus: port $p is in use; stop what listens there first" >&2
		exit 1
	fi
done
top=$(mktemp -d /tmp/pgcredit-citus.XXXXXX)
chmod 755 "$top"
chown postgres "$top"
as_pg() { runuser -u postgres -- "$@"; }
nodes=(coordinator worker1 worker2)
stop_all() {
	for i in 0 1 2; do
		[ -f "$top/${nodes[$i]}/postmaster.pid" ] &&
			as_pg "$bindir/pg_ctl" -D "$top/${nodes[$i]}" -m immediate stop >/dev/null 2>&1 || true
	done
	rm -rf "$top"
}
trap stop_all EXIT
for i in 0 1 2; do
	d="$top/${nodes[$i]}"
	as_pg "$bindir/initdb" -D "$d" -A trust --locale=C.UTF-8 >/dev/null
	cat >>"$d/postgresql.conf" <<CONF
port = $((port + i))
listen_addresses = 'localhost'
unix_socket_directories = '$top'
shared_preload_libraries = 'citus'
max_connections = 100
max_worker_processes = 16
wal_level = logical
fsync = off
citus.shard_count = 8
CONF
	as_pg "$bindir/pg_ctl" -D "$d" -l "$top/${nodes[$i]}.log" -w start >/dev/null
	as_pg "$bindir/psql" -X -q -h "$top" -p $((port + i)) -d postgres -c "CREATE EXTENSION citus"
done
# the coordinator knows its workers
as_pg "$bindir/psql" -X -q -h "$top" -p "$port" -d postgres <<SQL
SELECT citus_set_coordinator_host('localhost', $port);
SELECT citus_add_node('localhost', $((port + 1)));
SELECT citus_add_node('localhost', $((port + 2)));
SQL
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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
