#!/usr/bin/env bash
# Single-order transactions with pgbench, at several client counts, on an
# order table of 1000 customers in each configuration of
# test/bench/guard_setup.sql, in the same run: no trigger ("plain"),
# pgcredit's guard ("pgcredit"), the same with its exposure history off
# ("nohistory"), with credit rules judged from the
# exposure row ("rules"), with days_past_due and overdue_amount rules
# ("pastdue"), for members of two-level credit groups ("group"), the same
# in dollars converted into the accounts' euros ("group_fx"), measured
# also against the same dollar insert into a table of its columns
# without a trigger ("plain_fx"), a hand-written PL/pgSQL trigger keeping a
# counter row per customer ("counter"), and on request the PL/pgSQL
# trigger that sums the customer's items ("summing").  The runs take
# turns (round after round, every client count, every configuration), and
# the median of each counts, so that a passing disturbance of the machine
# does not favour one of them; the spread is (max - min) / median.
#
# Printed per client count: tps, the ratio to no trigger, the time of the
# machine per order, cores * 1e6 / tps in microseconds (with as many
# clients as cores, also the time of one order transaction), and the CPU
# time per order of the server's processes (with GUARD_WAITS, including
# the sampling session's) and of pgbench, read from /proc when the server
# runs on this machine.
#
# Runs against the server in PGHOST/PGPORT, in a database of its own,
# regress_bench_guard (test/scratch_db.sh).  `make bench-guard` (and `make
# bench`) start a throwaway server with fsync=off and
# synchronous_commit=off (test/bench/run.sh), so that commits do not wait
# for the disk and the figures measure the work of the order itself.
#
#   GUARD_CONFIGS  configurations, "plain" first (default "plain pgcredit
#                  nohistory rules pastdue group plain_fx group_fx counter"); each
#                  NAME runs test/bench/guard_NAME.pgbench, and, when they
#                  exist, test/bench/guard_NAME.before.sql before each of
#                  its runs and guard_NAME.after.sql after (say, to insert
#                  and delete rules for a configuration of the guard with
#                  rules).  A configuration's file may name the insert it is
#                  measured against with a line "-- baseline: NAME" (say,
#                  the same table without pgcredit's triggers): its
#                  ratio is then printed against that configuration as
#                  well as against plain.
#   GUARD_SETUP    extra SQL files run once after guard_setup.sql
#   GUARD_CLIENTS  client counts (default "2 8")
#   GUARD_SECONDS  length of one run (default 25)
#   GUARD_ROUNDS   runs of each configuration and client count (default 3)
#   GUARD_ROWS     invoices in the ledger (default 1000000)
#   GUARD_WAITS    1: sample pg_stat_activity every 5 ms during the runs
#                  and print the wait events of the order sessions
#   GUARD_PGBENCH  extra pgbench options (say "-M prepared")
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/common.sh
. test/scratch_db.sh
configs=${GUARD_CONFIGS:-plain pgcredit nohistory rules pastdue group plain_fx group_fx counter}
clients_list=${GUARD_CLIENTS:-2 8}
seconds=${GUARD_SECONDS:-25}
rounds=${GUARD_ROUNDS:-3}
rows=${GUARD_ROWS:-1000000}
waits=${GUARD_WAITS:-0}
cores=$(nproc)
db=regress_bench_guard
[ "${configs%% *}" = plain ] || { echo "GUARD_CONFIGS must start with plain" >&2; exit 1; }
baselines=
for c in $configs; do
	[ -f "test/bench/guard_$c.pgbench" ] || { echo "no test/bench/guard_$c.pgbench" >&2; exit 1; }
	b=$(sed -n 's/^-- baseline: *\([a-z_0-9]*\).*/\1/p' "test/bench/guard_$c.pgbench")
	if [ -n "$b" ]; then
		case " $configs " in
		*" $b "*) baselines="$baselines $c=$b" ;;
		*) echo "configuration $c is measured against $b: add $b to GUARD_CONFIGS" >&2; exit 1 ;;
		esac
	fi
done

scratch_db_create "$db"
psql -X -q -d "$db" -c "CREATE EXTENSION pgcredit"
psql -X -q -d "$db" -v rows="$rows" -f test/bench/guard_setup.sql >/dev/null
for f in ${GUARD_SETUP:-}; do
	psql -X -q -d "$db" -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done
psql -X -q -d "$db" -c "CREATE TABLE g_wait (config text, clients int, wait text)"
datadir=$(psql -X -At -d "$db" -c "SHOW data_directory")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Sample the wait events of the pgbench sessions for $1 seconds
sample_waits() {
	psql -X -q -d "$db" >/dev/null <<SQL
DO \$\$
DECLARE
  stop timestamptz := clock_timestamp() + interval '$1 s';
BEGIN
  PERFORM pg_sleep(0.5);	-- the sessions connect
  WHILE clock_timestamp() < stop LOOP
    PERFORM pg_stat_clear_snapshot();
    INSERT INTO g_wait
    SELECT '$2', $3, CASE WHEN state <> 'active' THEN 'Client:ClientRead (idle)'
                          ELSE coalesce(wait_event_type || ':' || wait_event, 'CPU') END
    FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = current_database();
    PERFORM pg_sleep(0.005);
  END LOOP;
END
\$\$;
SQL
}

# CPU time in clock ticks used so far by the server (the postmaster, its
# live children and the children it has reaped) and by the processes
# reaped by the shell $1 (pgbench); empty when the server's processes cannot
# be read (a server on another machine or of another user)
cpu_ticks() {
	local pm child t
	pm=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null) || return 0
	[ -r "/proc/$pm/stat" ] || return 0
	# after the name in parentheses: utime stime cutime cstime are $12 to $15
	t=$(sed 's/.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }')
	for child in $(pgrep -P "$pm"); do
		t=$((t + $( (sed 's/.*) //' "/proc/$child/stat" 2>/dev/null || true) |
			awk '{ s = $12 + $13 } END { print s + 0 }')))
	done
	echo "$t $(sed 's/.*) //' "/proc/$1/stat" | awk '{ print $14 + $15 }')"
}

# One run: configuration $1 with $2 clients; prints tps, and the server's
# and pgbench's CPU ticks
run() {
	local config=$1 clients=$2 sampler='' me=$BASHPID s0 p0 s1 p1
	[ -f "test/bench/guard_$config.before.sql" ] &&
		psql -X -q -d "$db" -v ON_ERROR_STOP=1 -f "test/bench/guard_$config.before.sql" >/dev/null
	# every run starts from vacuumed tables and a checkpoint
	psql -X -q -d "$db" -c VACUUM -c CHECKPOINT
	if [ "$waits" = 1 ]; then
		sample_waits $((seconds - 1)) "$config" "$clients" &
		sampler=$!
	fi
	cpu0=$(cpu_ticks "$me")
	# shellcheck disable=SC2086
	# (the database is pgbench's last argument: its -d is --debug, which
	# would write four lines a transaction)
	"$PG_BINDIR/pgbench" -n -c "$clients" -j $((clients < cores ? clients : cores)) \
		-T "$seconds" ${GUARD_PGBENCH:-} -f "test/bench/guard_$config.pgbench" "$db" >"$out/pgbench" 2>&1 ||
		{ cat "$out/pgbench" >&2; exit 1; }
	[ -z "$sampler" ] || wait "$sampler"
	sleep 0.2	# the backends exit
	cpu1=$(cpu_ticks "$me")
	[ -f "test/bench/guard_$config.after.sql" ] &&
		psql -X -q -d "$db" -v ON_ERROR_STOP=1 -f "test/bench/guard_$config.after.sql" >/dev/null
	# pgbench writing a line a transaction (its --debug) costs its CPU,
	# added to every configuration alike: it flattered every ratio once
	if grep -q '^pgbench: client' "$out/pgbench"; then
		echo "pgbench wrote debug output: the figures would not measure the orders" >&2
		exit 1
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out/pgbench")
	xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out/pgbench")
	if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
		read -r s0 p0 <<<"$cpu0"
		read -r s1 p1 <<<"$cpu1"
		# CPU microseconds per order: server, pgbench
		echo "$tps $(awk -v a="$s0" -v b="$p0" -v c="$s1" -v d="$p1" -v x="$xacts" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%.1f %.1f", (c - a) * 1e6 / hz / x, (d - b) * 1e6 / hz / x }')"
	else
		echo "$tps - -"
	fi
}

# One line per run: configuration, clients, tps, CPU us per order of the
# server and of pgbench
for round in $(seq 1 "$rounds"); do
	for clients in $clients_list; do
		for config in $configs; do
			# (run exits its subshell on a failure: stop here too)
			r=$(run "$config" "$clients") || exit 1
			echo "$config $clients $r" >>"$out/results"
		done
	done
	echo "round $round of $rounds done" >&2
done

printf '\nSingle-order transactions, 1000 customers, %s invoices; median of %s runs of %s s\n' \
	"$rows" "$rounds" "$seconds"
psql -X -At -d "$db" -c "SELECT 'server: fsync=' || current_setting('fsync') ||
	', synchronous_commit=' || current_setting('synchronous_commit') ||
	', full_page_writes=' || current_setting('full_page_writes') ||
	', shared_buffers=' || current_setting('shared_buffers') || '; $cores cores'"
# The median of each configuration and client count (a middle run's figures)
sort -k1,1 -k2,2n -k3,3g "$out/results" | awk -v cores="$cores" -v configs="$configs" -v clients="$clients_list" \
	-v baselines="$baselines" '
	{ n[$1 " " $2]++; run[$1 " " $2, n[$1 " " $2]] = $0 }
	END {
		nc = split(configs, cfg, " "); nk = split(clients, cl, " ")
		nb = split(baselines, bl, " ")
		for (b = 1; b <= nb; b++) { split(bl[b], kv, "="); against[kv[1]] = kv[2] }
		for (k = 1; k <= nk; k++) {
			printf "\n%s clients\n", cl[k]
			printf "%-12s %8s %6s %9s %9s %7s   %-14s   %s\n", "", "", "", "machine", "", "", "", "CPU us/order"
			printf "%-12s %8s %6s %9s %9s %7s   %-14s   %6s %7s\n", "configuration", "tps", "ratio",
				"us/order", "+us", "spread", "ratio to own", "server", "pgbench"
			for (i = 1; i <= nc; i++) {
				split(run[cfg[i] " " cl[k], int((n[cfg[i] " " cl[k]] + 1) / 2)], m, " ")
				tps[cfg[i]] = m[3]
			}
			for (i = 1; i <= nc; i++) {
				key = cfg[i] " " cl[k]
				split(run[key, int((n[key] + 1) / 2)], m, " ")
				split(run[key, 1], lo, " "); split(run[key, n[key]], hi, " ")
				if (i == 1) base = m[3]
				own = ""
				if (cfg[i] in against)
					own = sprintf("%.2f %s", m[3] / tps[against[cfg[i]]], against[cfg[i]])
				printf "%-12s %8.0f %6.2f %9.1f %9.1f %6.1f%%   %-14s   %6s %7s\n", cfg[i], m[3], m[3] / base,
					cores * 1e6 / m[3], cores * 1e6 / m[3] - cores * 1e6 / base,
					100 * (hi[3] - lo[3]) / m[3], own, m[4], m[5]
			}
		}
	}'

if [ "$waits" = 1 ]; then
	printf '\nWait events of the order sessions (share of samples every 5 ms)\n'
	psql -X -q -d "$db" -P footer=off -c "
		SELECT clients, config, wait, pct FROM (
		  SELECT config, clients, wait,
		         round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY config, clients), 1) AS pct
		  FROM g_wait GROUP BY config, clients, wait) s
		WHERE pct >= 0.5
		ORDER BY clients, array_position(string_to_array('$configs', ' '), config), pct DESC"
fi

# Both counting triggers must have kept exposure exact
mismatches=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pgcredit.verify_exposure()")
[ "$mismatches" = 0 ] || { echo "verify_exposure() found $mismatches mismatches"; exit 1; }
mismatches=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pgcredit.verify_receivable_due()")
[ "$mismatches" = 0 ] || { echo "verify_receivable_due() found $mismatches mismatches"; exit 1; }
wrong=$(psql -X -At -d "$db" -c "
	SELECT count(*) FROM g_counter k
	WHERE k.exposure IS DISTINCT FROM
	      coalesce((SELECT sum(open_amount) FROM g_invoice i WHERE i.customer = k.customer), 0)
	    + coalesce((SELECT sum(amount) FROM g_order_counter o WHERE o.customer = k.customer), 0)")
[ "$wrong" = 0 ] || { echo "the counter trigger's exposure is wrong for $wrong customers"; exit 1; }
scratch_db_drop "$db"
