#!/usr/bin/env bash
# Fuzz pgcredit with random SQL from sqlsmith against the server in
# PGHOST/PGPORT, connected as a superuser (make fuzz-sql starts a
# throwaway one).  setup.sql builds a company: order tables attached in
# block mode, in hold mode and partitioned, a receivables table, accounts
# and settings, and the application role regress_fuzz with only SELECT,
# INSERT, UPDATE and DELETE on the company tables (and pgcredit_reader).
# sqlsmith then runs as regress_fuzz for each seed, and afterwards, as the
# superuser, the run fails when:
#   - the server is down, or its log shows a server process that crashed,
#     or pg_postmaster_start_time() changed;
#   - pgcredit.verify_exposure() finds a mismatch;
#   - the fuzz oracle of setup.sql failed a statement (exposure differed
#     from the tables inside the statement's own transaction, which
#     sqlsmith always rolls back; SQLSTATE FZ001/FZ002);
#   - anything of test/fuzz_sql/snapshot.sql changed: superusers, roles,
#     memberships, privileges, pgcredit's accounts, settings, attachments,
#     exposure, held orders and audit log, the company tables' rows;
#   - sqlsmith itself stopped with an error.
# It ends with a summary per seed: statements run, errors by SQLSTATE
# class, how often the guard ran.  Everything is kept in FUZZ_SQL_OUT:
# sqlsmith's progress log (sqlsmith-SEED.log), each error it met with its
# count, SQLSTATE and shortest statement (errors-SEED.tsv), internal
# errors with their statements (internal-SEED.sql), the statements behind
# a finding (findings-SEED.sql), the snapshots and the server log.
#
#   FUZZ_SQL_SEED     sqlsmith seed(s), one run each (default 1; "1 2 3")
#   FUZZ_SQL_SECONDS  time limit of a run (default 90)
#   FUZZ_SQL_QUERIES  statement limit of a run (default none); whichever
#                     comes first ends it
#   FUZZ_SQL_READER   1 (default): regress_fuzz is a member of pgcredit_reader,
#                     so the risk views and verify_exposure() are fuzzed too
#   FUZZ_SQL_ARGS     more sqlsmith options (default --exclude-catalog, so
#                     that it queries the company tables rather than the
#                     catalogs; --dump-all-queries writes every statement
#                     to queries-SEED.sql)
#   FUZZ_SQL_DB       database (default regress_fuzz_sql, dropped and created;
#                     sqlsmith's log goes to FUZZ_SQL_DB_log); only databases
#                     this script created are dropped (test/scratch_db.sh):
#                     when one of those names is taken, the run stops
#   FUZZ_SQL_OUT      output directory (default test/out/fuzz-sql)
#   FUZZ_SQL_SERVER_LOG  the server's log file (found with pg_lsclusters
#                     when not given; without it the crash check relies
#                     on the server's start time and state alone)
set -euo pipefail
trap 'echo "fuzz-sql: stopped by a failing command at line $LINENO of $0" >&2' ERR
cd "$(dirname "$0")/../.."
. test/common.sh
. test/scratch_db.sh

seeds=${FUZZ_SQL_SEED:-1}
seconds=${FUZZ_SQL_SECONDS:-90}
max_queries=${FUZZ_SQL_QUERIES:-}
reader=${FUZZ_SQL_READER:-1}
read -r -a extra_args <<<"${FUZZ_SQL_ARGS---exclude-catalog}"
db=${FUZZ_SQL_DB:-regress_fuzz_sql}
logdb=${db}_log
out=${FUZZ_SQL_OUT:-test/out/fuzz-sql}
server_log=${FUZZ_SQL_SERVER_LOG:-}

if ! command -v sqlsmith >/dev/null; then
	echo "fuzz-sql: sqlsmith is missing: install the Debian package sqlsmith (make fuzz-sql does as root)" >&2
	exit 1
fi
case $reader in 0|1) ;; *) echo "fuzz-sql: FUZZ_SQL_READER must be 0 or 1" >&2; exit 1;; esac

rm -rf "$out"
mkdir -p "$out"
psql_su() { psql -X -v ON_ERROR_STOP=1 "$@"; }

# The server log: given, the one of pg_virtualenv's cluster, or the one
# pg_lsclusters shows for the cluster on PGPORT
pgv_log=${PG_CLUSTER_CONF_ROOT:-/nonexistent}/${PGVERSION:-$PGVER}/regress/log
if [ -z "$server_log" ] && [ -n "${PG_CLUSTER_CONF_ROOT:-}" ] && [ -r "$pgv_log" ]; then
	server_log=$(readlink -f "$pgv_log")
fi
if [ -z "$server_log" ] && command -v pg_lsclusters >/dev/null && [ -n "${PGPORT:-}" ]; then
	server_log=$(pg_lsclusters -h 2>/dev/null | awk -v port="$PGPORT" '$3 == port && NF >= 7 { print $NF; exit }' || true)
fi
if [ -n "$server_log" ] && [ ! -r "$server_log" ]; then
	echo "fuzz-sql: cannot read the server log $server_log" >&2
	server_log=
fi
[ -n "$server_log" ] ||
	echo "fuzz-sql: warning: no server log (set FUZZ_SQL_SERVER_LOG); crashes are seen only through the server's start time"
log_lines() { if [ -n "$server_log" ]; then wc -l <"$server_log"; else echo 0; fi; }

echo "== company database $db, application role regress_fuzz"
fuzz_password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
scratch_db_create "$db"
scratch_db_create "$logdb"
psql_su -q -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS regress_fuzz" >/dev/null
psql_su -q -d "$db" -v fuzz_password="$fuzz_password" -v reader="$reader" \
	-f test/fuzz_sql/setup.sql >"$out/setup.log"
# count calls of the guard (a C function) for the summary
psql_su -q -c "ALTER DATABASE $db SET track_functions = 'all'" >/dev/null
psql_su -q -d "$logdb" -f test/fuzz_sql/sqlsmith_log.sql >/dev/null
psql_su -d "$db" -f test/fuzz_sql/snapshot.sql >"$out/snapshot-before.txt"
started=$(psql_su -At -c 'SELECT pg_postmaster_start_time()')

# sqlsmith connects twice: as regress_fuzz to fuzz, as the superuser to
# log.  Both passwords go into a password file rather than on its command
# line; PGPASSWORD would apply to both connections.
passfile=$(mktemp)
trap 'rm -f "$passfile"' EXIT
chmod 600 "$passfile"
escape() { sed 's/[\\:]/\\&/g' <<<"$1"; }
{
	echo "*:*:*:regress_fuzz:$fuzz_password"
	if [ -n "${PGPASSWORD:-}" ]; then
		echo "*:*:*:$(escape "${PGUSER:-$(id -un)}"):$(escape "$PGPASSWORD")"
	fi
	own=${PGPASSFILE:-${HOME:-/nonexistent}/.pgpass}
	if [ -r "$own" ]; then cat "$own"; fi
} >"$passfile"

# One sqlsmith run and its checks; sets failed=1 on a finding.
failed=0
fail() { echo "fuzz-sql: FAILED (seed $seed): $*"; failed=1; }
stat_sql="SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0), coalesce(sum(n_tup_del), 0)
          FROM pg_stat_user_tables WHERE schemaname = 'shop'"
guard_sql="SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
           WHERE schemaname = 'pgcredit' AND funcname = 'exposure_trigger'"

for seed in $seeds; do
	echo "== sqlsmith as regress_fuzz, seed $seed, ${seconds}s${max_queries:+ or $max_queries statements}"
	log_from=$(( $(log_lines) + 1 ))
	last_instance=$(psql_su -At -d "$logdb" -c 'SELECT coalesce(max(id), 0) FROM instance')
	read -r ins0 upd0 del0 < <(psql_su -At -F ' ' -d "$db" -c "$stat_sql")
	guard_before=$(psql_su -At -d "$db" -c "$guard_sql")
	args=(--target="dbname=$db user=regress_fuzz"
		--log-to="dbname=$logdb user=${PGUSER:-$(id -un)}"
		--seed="$seed" --verbose ${max_queries:+--max-queries="$max_queries"} "${extra_args[@]}")
	start=$(date +%s)
	# SIGINT makes sqlsmith print its final report and stop
	rc=0
	env -u PGPASSWORD PGPASSFILE="$passfile" timeout -s INT -k 30 "$seconds" \
		sqlsmith "${args[@]}" >"$out/queries-$seed.sql" 2>"$out/sqlsmith-$seed.log" || rc=$?
	elapsed=$(( $(date +%s) - start ))
	[ -s "$out/queries-$seed.sql" ] || rm -f "$out/queries-$seed.sql"

	# The server is up (waiting out a restart after a crash) ...
	up=0
	for _ in $(seq 1 60); do
		if psql -X -At -c 'SELECT 1' >/dev/null 2>&1; then up=1; break; fi
		sleep 1
	done
	if [ $up = 0 ]; then
		fail "the server does not answer any more"
		[ -n "$server_log" ] && tail -n 30 "$server_log"
		break
	fi
	# ... no server process crashed ...
	if [ -n "$server_log" ]; then
		crash_re='server process \(PID [0-9]+\) (was terminated|exited with exit code)|terminating any other active server processes|PANIC:|TRAP:'
		if tail -n +"$log_from" "$server_log" | grep -Eq "$crash_re"; then
			fail "a server process crashed; from the server log:"
			tail -n +"$log_from" "$server_log" | grep -E -A1 "$crash_re" | head -n 40 || true
			# the statement it ran (whole: make fuzz-sql sets track_activity_query_size)
			# (its later lines follow, each behind a tab)
			tail -n +"$log_from" "$server_log" | awk '
				grab && /^\t/ { sub(/^\t/, ""); print; next }
				grab { print ";"; grab = 0 }
				/DETAIL:  Failed process was running: / {
					sub(/.*Failed process was running: /, "")
					print "-- crashed a server process:"; print; grab = 1 }
				END { if (grab) print ";" }' >"$out/findings-$seed.sql"
		fi
	fi
	# ... and the server was not restarted
	now_started=$(psql_su -At -c 'SELECT pg_postmaster_start_time()')
	[ "$now_started" = "$started" ] ||
		fail "the server restarted (started at $started, now $now_started)"

	# Exposure matches the tables
	mismatches=$(psql_su -At -d "$db" -c 'SELECT count(*) FROM pgcredit.verify_exposure()')
	if [ "$mismatches" != 0 ]; then
		fail "verify_exposure() finds $mismatches customers whose exposure differs from the tables"
		psql_su -d "$db" -c 'SELECT * FROM pgcredit.verify_exposure()' | head -n 20 || true
	fi

	# Nothing the role must not change has changed
	psql_su -d "$db" -f test/fuzz_sql/snapshot.sql >"$out/snapshot-after-$seed.txt"
	if ! diff -u "$out/snapshot-before.txt" "$out/snapshot-after-$seed.txt" >"$out/snapshot-$seed.diff"; then
		# name the sections (== lines of snapshot.sql) that differ
		by_section() { awk '/^== / { s = substr($0, 4) } { print s "\t" $0 }' "$1"; }
		changed=$(diff <(by_section "$out/snapshot-before.txt") <(by_section "$out/snapshot-after-$seed.txt") |
			sed -n 's/^[<>] \([^\t]*\)\t.*/\1/p' | sort -u | paste -sd ';' | sed 's/;/; /g' || true)
		fail "changed since the start: $changed (snapshot-$seed.diff):"
		head -n 40 "$out/snapshot-$seed.diff"
	else
		rm -f "$out/snapshot-$seed.diff"
	fi

	# What sqlsmith logged: every failed statement with its SQLSTATE
	instance=$(psql_su -At -d "$logdb" -c "SELECT max(id) FROM instance WHERE id > $last_instance")
	if [ -n "$instance" ]; then
		# each error once, with its count and its shortest statement
		psql_su -At -F $'\t' -d "$logdb" \
			-c "SELECT count(*), sqlstate, split_part(msg, E'\n', 1),
			           (array_agg(replace(query, E'\n', ' ') ORDER BY length(query)))[1]
			    FROM error WHERE id = $instance GROUP BY 2, 3 ORDER BY 1 DESC, 2, 3" >"$out/errors-$seed.tsv"
		# internal and system errors (classes XX and 58) in full: worth a look
		psql_su -At -d "$logdb" -c "SELECT format(E'-- %s %s\n%s;\n', sqlstate, replace(msg, E'\n', E'\n-- '), query)
		                            FROM error WHERE id = $instance AND left(sqlstate, 2) IN ('XX', '58')
		                            ORDER BY errid" >"$out/internal-$seed.sql"
		[ -s "$out/internal-$seed.sql" ] || rm -f "$out/internal-$seed.sql"
		oracle=$(psql_su -At -d "$logdb" -c "SELECT count(*) FROM error WHERE id = $instance AND sqlstate LIKE 'FZ%'")
		if [ "$oracle" != 0 ]; then
			fail "the fuzz oracle failed $oracle statements; their text is in findings-$seed.sql:"
			psql_su -At -d "$logdb" -c "SELECT DISTINCT split_part(msg, E'\n', 1) FROM error
			                            WHERE id = $instance AND sqlstate LIKE 'FZ%'" | head -n 5 || true
			psql_su -At -d "$logdb" -c "SELECT format(E'-- %s\n%s;\n', replace(msg, E'\n', E'\n-- '), query)
			                            FROM error WHERE id = $instance AND sqlstate LIKE 'FZ%' ORDER BY errid" \
				>>"$out/findings-$seed.sql"
		fi
		classes=$(psql_su -At -d "$logdb" -c "SELECT string_agg(format('%s %s', class, n), ', ' ORDER BY n DESC, class)
		                                      FROM (SELECT left(sqlstate, 2) AS class, count(*) AS n
		                                            FROM error WHERE id = $instance GROUP BY 1) c")
		refusals=$(psql_su -At -d "$logdb" -c "SELECT string_agg(format('%s %s', sqlstate, n), ', ' ORDER BY sqlstate)
		                                       FROM (SELECT sqlstate, count(*) AS n FROM error
		                                             WHERE id = $instance AND sqlstate LIKE 'PC%' GROUP BY 1) c")
		internal=$(psql_su -At -d "$logdb" -c "SELECT count(*) FROM error WHERE id = $instance AND left(sqlstate, 2) IN ('XX', '58')")
	else
		fail "sqlsmith logged nothing (see sqlsmith-$seed.log)"
		classes= refusals= internal=0
	fi

	# sqlsmith ran to its limit: 0 after --max-queries, 124 from timeout
	# (137 when it had to be killed)
	case $rc in
	0|124) ;;
	137) echo "fuzz-sql: warning: sqlsmith did not stop on SIGINT and was killed" ;;
	*) fail "sqlsmith stopped with status $rc:"; tail -n 5 "$out/sqlsmith-$seed.log" ;;
	esac

	sleep 1	# statistics reach the server within a second
	read -r ins1 upd1 del1 < <(psql_su -At -F ' ' -d "$db" -c "$stat_sql")
	guard_after=$(psql_su -At -d "$db" -c "$guard_sql")
	queries=$(sed -n 's/^queries: \([0-9]*\).*/\1/p' "$out/sqlsmith-$seed.log" | tail -n 1)
	rate=$(sed -n 's/^error rate: //p' "$out/sqlsmith-$seed.log" | tail -n 1)
	echo "seed $seed: ${queries:-?} statements in ${elapsed}s, error rate ${rate:-?}"
	echo "  errors by SQLSTATE class: ${classes:-none}"
	echo "  pgcredit refusals: ${refusals:-none}; internal or system errors (XX, 58): $internal"
	if [ "$guard_after" -ge "$guard_before" ] && [ "$ins1" -ge "$ins0" ]; then
		echo "  guard calls: $((guard_after - guard_before)); company rows (all rolled back):" \
			"$((ins1 - ins0)) inserted, $((upd1 - upd0)) updated, $((del1 - del0)) deleted"
	else
		echo "  guard calls and rows written: unknown (a crash reset the statistics)"
	fi
done

if [ -n "$server_log" ]; then
	tail -n +1 "$server_log" >"$out/server.log"
fi
if [ $failed != 0 ]; then
	echo "fuzz-sql: FAILED; see $out"
	exit 1
fi
echo "fuzz-sql: ok, seeds $seeds: no crash, exposure matches the tables, no role or account changed"
