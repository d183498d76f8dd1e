# Shared settings of the test, demo and bench scripts (sourced, not run).

PGVER=${PGVER:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGVER/bin/pg_config}
PG_BINDIR=$("$PG_CONFIG" --bindir)
PGXS_DIR=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)
# The shared sample ledger: beside this checkout, or beside the repository
# it was cloned from
if [ -z "${SHARED_DATA:-}" ]; then
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	SHARED_DATA=$(cd "$repo/.." && pwd)/shared/data/ibm-ar
	origin=$(git -C "$repo" config --get remote.origin.url 2>/dev/null || true)
	if [ ! -d "$SHARED_DATA" ] && [ -n "$origin" ] && [ -d "$origin/../shared/data/ibm-ar" ]; then
		SHARED_DATA=$(cd "$origin/../shared/data/ibm-ar" && pwd)
	fi
fi
export PGVER PG_CONFIG PG_BINDIR PGXS_DIR SHARED_DATA

# Run a command as root, through sudo when we are not root.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Build and install the extension; extra arguments go to make.
build_and_install() {
	make -s PG_CONFIG="$PG_CONFIG" "$@"
	as_root make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# Run a command against a throwaway cluster that is removed afterwards.
# The cluster lives in a temporary directory (-t, even as root, so runs
# never collide) and uses the C.UTF-8 locale so output does not depend on the
# machine's language settings.
with_throwaway_cluster() {
	pg_virtualenv -t -v "$PGVER" -c "--locale=C.UTF-8" "$@"
}

# Microseconds since the epoch.
now_us() {
	echo "${EPOCHREALTIME/[.,]/}"
}

# One line of progress for a test file that just finished, in the manner of
# pg_regress: name, ok or FAILED, and the seconds since $3 (from now_us).
report_file() {
	local ms=$((($(now_us) - $3) / 1000))
	printf '  %-32s ... %-6s %4d.%d s\n' "$1" "$2" $((ms / 1000)) $((ms % 1000 / 100))
}

# The parts of a failed test file's output that say why: for a TAP test,
# each failed assertion with the diagnostics that follow it, and what
# follows the last assertion (prove's summary, a test's dying words); for
# a shell test, the end of its output.
show_failure() {
	if grep -qE '^(not )?ok ' "$1"; then
		echo "---- $1, its failed assertions and its end:"
		awk '/^not ok/ { n = 25 } /^(ok |1\.\.)/ { n = 0 } n-- > 0' "$1"
		echo "..."
		awk '/^(not )?ok / { end = ""; next } { end = end $0 "\n" } END { printf "%s", end }' "$1" |
			tail -n 15
	else
		echo "---- end of $1:"
		tail -n 40 "$1"
	fi
}

# Run test files, JOBS at a time, and print each file's result as it
# finishes (and, every 20 s without a result, which files are still
# running); a failed file shows why (show_failure) and, for a TAP test,
# the errors in its nodes' server logs.  Sets files_pass and files_fail; each file's
# output goes to LOGDIR/NAME.log.
#   test/t/*.sh  shell tests, passing when they exit 0
#   test/t/*.pl  TAP tests, run by prove, each on a PostgreSQL node of its
#                own; nodes find a build installed with DESTDIR when
#                PGCREDIT_DESTDIR names it
# initdb refuses to run as root: as root, prove runs as the postgres user
# (with runuser) in a directory it owns, and when that user cannot read
# this checkout (say, under a root-only home) the tree is copied where it
# can, and so is the shared sample ledger.
run_files() {
	local jobs=$1 logs=$2 root testdir tree f name shared=${SHARED_DATA:-}
	shift 2
	local -a tap=() runner=()
	local -A start_of=()
	local running=0 quiet_since
	root=$(pwd)
	files_pass=0
	files_fail=0
	mkdir -p "$logs"
	testdir=$(mktemp -d "${TMPDIR:-/tmp}/pgcredit-test.XXXXXX")
	if [[ " $* " == *.pl\ * ]]; then
		tree=$root
		if [ "$(id -u)" -eq 0 ]; then
			chown postgres: "$testdir"
			runner=(runuser -u postgres --)
			if ! runuser -u postgres -- test -r "$root/test/perl/PgCreditTest.pm" ||
				! runuser -u postgres -- test -x "$root/test/t"; then
				tree=$testdir/src
				mkdir "$tree"
				tar -C "$root" --exclude=.git --exclude=test/out -cf - . | tar -C "$tree" -xf -
				chown -R postgres: "$tree"
				echo "  (the postgres user cannot read $root: testing a copy in $tree)"
			fi
			if [ -d "$shared" ] && ! runuser -u postgres -- test -r "$shared/accounts-receivable.csv"; then
				cp -r "$shared" "$testdir/shared"
				chown -R postgres: "$testdir/shared"
				shared=$testdir/shared
			fi
		fi
		tap=("${runner[@]}" env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE
			-u PGSERVICE -u PG_CLUSTER_CONF_ROOT -u PGSYSCONFDIR
			PATH="$PG_BINDIR:$PATH" TESTDIR="$testdir" SHARED_DATA="$shared"
			PERL5LIB="$PGXS_DIR/src/test/perl:$tree/test/perl${PERL5LIB:+:$PERL5LIB}"
			PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress"
			prove -v --merge)
	fi

	# Wait for one of the running files to finish and report it.
	finish_one() {
		local name rc nodelog
		while :; do
			for name in "${!start_of[@]}"; do
				[ -e "$logs/$name.rc" ] || continue
				rc=$(cat "$logs/$name.rc")
				rm -f "$logs/$name.rc"
				if [ "$rc" -eq 0 ]; then
					files_pass=$((files_pass + 1))
					report_file "$name" ok "${start_of[$name]}"
				else
					files_fail=$((files_fail + 1))
					report_file "$name" FAILED "${start_of[$name]}"
					show_failure "$logs/$name.log"
					[[ $name == *.pl ]] &&
					for nodelog in "$testdir"/tmp_check/log/"${name%.pl}"_*.log; do
						[ -e "$nodelog" ] || continue
						grep -qE 'ERROR|FATAL|PANIC|TRAP|terminated by signal' "$nodelog" || continue
						echo "---- last errors in server log $(basename "$nodelog"):"
						grep -E -A2 'ERROR|FATAL|PANIC|TRAP|terminated by signal' "$nodelog" | tail -n 12
					done
					# a test that died said why in its own log only
					if [[ $name == *.pl ]] && grep -qE 'Looks like your test exited|No plan found' "$logs/$name.log"; then
						echo "---- end of regress_log_${name%.pl}:"
						tail -n 15 "$testdir/tmp_check/log/regress_log_${name%.pl}"
					fi
					[[ $name == *.pl ]] && echo "---- (its server logs and regress_log in $logs/nodes)"
					echo "----"
				fi
				unset "start_of[$name]"
				running=$((running - 1))
				return
			done
			sleep 0.2
			if [ $(($(now_us) - quiet_since)) -gt 20000000 ]; then
				echo "  (still running: $(for name in "${!start_of[@]}"; do
					printf '%s %d s, ' "$name" $((($(now_us) - ${start_of[$name]}) / 1000000))
				done | sed 's/, $//'))"
				quiet_since=$(now_us)
			fi
		done
	}

	quiet_since=$(now_us)
	for f in "$@"; do
		while [ "$running" -ge "$jobs" ]; do
			finish_one
			quiet_since=$(now_us)
		done
		name=$(basename "$f")
		start_of[$name]=$(now_us)
		running=$((running + 1))
		if [[ $f == *.pl ]]; then
			(cd "$testdir" && "${tap[@]}" "$tree/$f") >"$logs/$name.log" 2>&1 </dev/null
		else
			bash "$f" >"$logs/$name.log" 2>&1 </dev/null
		fi && echo 0 >"$logs/$name.rc" || echo $? >"$logs/$name.rc" &
	done
	while [ "$running" -gt 0 ]; do
		finish_one
		quiet_since=$(now_us)
	done
	[ -d "$testdir/tmp_check/log" ] && cp -r "$testdir/tmp_check/log" "$logs/nodes"
	rm -rf "$testdir"
}
