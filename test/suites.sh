#!/usr/bin/env bash
# Run every test suite against the server in PGHOST/PGPORT (set by
# pg_virtualenv in make test, or by the user) and count test files:
#   regress   pg_regress files sql/*.sql against expected/*.out
#   isolation isolation tester specs test/isolation/specs/*.spec
#   tap       TAP tests test/t/*.pl, run by prove, each on a PostgreSQL
#             node of its own (initdb as the postgres user when run as
#             root; PGCREDIT_DESTDIR names a build installed with DESTDIR)
#   shell     scripts test/t/*.sh, each passing when it exits 0
# Each file's result is printed as soon as it finishes.  Ends with the line
# "N passed, N failed" and exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

out=test/out
rm -rf "$out"
mkdir -p "$out"
total_pass=0
total_fail=0
suites_start=$(now_us)

# Stage header and footer.
stage() {
	echo "== $1"
	stage_start=$(now_us)
}
stage_done() {
	local ms=$((($(now_us) - stage_start) / 1000))
	printf '%-10s %3d passed %3d failed  (%d s)\n' "$1" "$2" "$3" $((ms / 1000))
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
}

# Run a pg_regress-style driver, showing each test's line as it finishes,
# and count its "... ok" and "... FAILED" lines; on a failure show the
# failed tests and the start of the diffs ($2), or the whole log when the
# driver failed without a test failing.
run_regress() {
	local suite=$1 diffs=$2 log=$out/$1.log p f rc
	shift 2
	"$@" 2>&1 | tee "$log" | grep --line-buffered -E '\.\.\. '
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '\.\.\. ok' "$log")
	f=$(grep -cE '\.\.\. (FAILED|failed)' "$log")
	if [ "$rc" -ne 0 ]; then
		if [ "$f" -gt 0 ]; then
			[ -f "$diffs" ] && { echo "---- $diffs:"; head -200 "$diffs"; }
		else
			cat "$log"
			f=1
		fi
	fi
	stage_done "$suite" "$p" "$f"
}

regress=$(make -s --no-print-directory PG_CONFIG="$PG_CONFIG" print-REGRESS)
if [ -n "$regress" ]; then
	stage "regress: $(wc -w <<<"$regress") files"
	run_regress regress regression.diffs \
		"$PGXS_DIR/src/test/regress/pg_regress" --bindir="$PG_BINDIR" \
		--inputdir=. --outputdir=. --load-extension=pgcredit \
		--dbname=contrib_regression $regress
fi

isolation=$(make -s --no-print-directory PG_CONFIG="$PG_CONFIG" print-ISOLATION)
if [ -n "$isolation" ]; then
	stage "isolation: $(wc -w <<<"$isolation") specs"
	run_regress isolation output_iso/regression.diffs \
		"$PGXS_DIR/src/test/isolation/pg_isolation_regress" --bindir="$PG_BINDIR" \
		--inputdir=test/isolation --outputdir=output_iso \
		--load-extension=pgcredit --dbname=isolation_regression $isolation
fi

tap=(test/t/*.pl)
if [ -e "${tap[0]}" ]; then
	stage "tap: ${#tap[@]} files, ${TAP_JOBS:-2} at a time, each on a node of its own"
	run_files "${TAP_JOBS:-2}" "$out/tap" "${tap[@]}"
	stage_done tap "$files_pass" "$files_fail"
fi

shell=(test/t/*.sh)
if [ -e "${shell[0]}" ]; then
	stage "shell: ${#shell[@]} files"
	run_files 1 "$out/shell" "${shell[@]}"
	stage_done shell "$files_pass" "$files_fail"
fi

echo "== all suites in $((($(now_us) - suites_start) / 1000000)) s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
