# A Citus cluster of a coordinator and two workers on this machine, for
# test/citus/run.sh (make test-citus) and test/citus/bench.sh (make
# bench-citus): sourced after test/common.sh, with NAME set to the make
# target.  Each node is a PostgreSQL cluster in a temporary directory, run
# as the postgres user on its own port (57636, 57637, 57638: the expected
# output of the tests names the workers' ports), citus preloaded, with
# shard_count shards a table (CITUS_SHARDS, 8 by default).  Where Citus is
# not installed this says so and exits without failing.  Sets top, port,
# bindir and as_pg; the cluster is stopped and removed on exit.
PG_CONFIG=${PG_CONFIG:-pg_config}
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
	echo "$NAME: skipped: Citus is not installed for PostgreSQL $("$PG_CONFIG" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')."
	echo "  Build and install it as root with: bash ../shared/vendor/build-citus.sh (about ten minutes)."
	echo "  make test does not need it."
	exit 0
fi
build_and_install >/dev/null
bindir=$("$PG_CONFIG" --bindir)
port=57636
for p in 57636 57637 57638; do
	if (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
		echo "$NAME: port $p is in use; stop what listens there first" >&2
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
citus.shard_count = ${CITUS_SHARDS:-8}
${CITUS_CONF:-}
CONF
	as_pg "$bindir/pg_ctl" -D "$d" -l "$top/${nodes[$i]}.log" -w start >/dev/null
	as_pg "$bindir/psql" -X -q -h "$top" -p $((port + i)) -d postgres -c "CREATE EXTENSION citus"
done
# the coordinator knows its workers
as_pg "$bindir/psql" -X -q -o /dev/null -h "$top" -p "$port" -d postgres <<SQL
SELECT citus_set_coordinator_host('localhost', $port);
SELECT citus_add_node('localhost', $((port + 1)));
SELECT citus_add_node('localhost', $((port + 2)));
SQL
