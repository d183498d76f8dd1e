#!/usr/bin/env bash
# Run every test suite against the server in PGHOST/PGPORT (set by
# pg_virtualenv in make test, or by the user) and count test files:
#   regress   pg_regress files sql/*.sql against expected/*.out
#   isolation isolation tester specs test/isolation/specs/*.spec
#   shell     scripts test/t/*.sh, each passing when it exits 0
# Ends with the line "N passed, N failed" and exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/common.sh

out=test/out
rm -rf "$out"
mkdir -p "$out"
total_pass=0
total_fail=0

# Count the "... ok" and "... FAILED" lines of a pg_regress-style log.
count_results() {
	local log=$1 suite=$2 p f
	p=$(grep -cE '\.\.\. ok' "$log")
	f=$(grep -cE '\.\.\. (FAILED|failed)' "$log")
	printf '%-10s %3d passed %3d failed\n' "$suite" "$p" "$f"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

regress=$(make -s --no-print-directory PG_CONFIG="$PG_CONFIG" print-REGRESS)
if [ -n "$regress" ]; then
	"$PGXS_DIR/src/test/regress/pg_regress" --bindir="$PG_BINDIR" \
		--inputdir=. --outputdir=. --load-extension=pgcredit \
		--dbname=contrib_regression $regress >"$out/regress.log" 2>&1
	rc=$?
	count_results "$out/regress.log" regress
	if [ $rc -ne 0 ]; then
		grep -E '\.\.\. (FAILED|failed)' "$out/regress.log"
		[ -f regression.diffs ] && head -200 regression.diffs
		grep -qE '\.\.\. (FAILED|failed)' "$out/regress.log" ||
			{ cat "$out/regress.log"; total_fail=$((total_fail + 1)); }
	fi
fi

isolation=$(make -s --no-print-directory PG_CONFIG="$PG_CONFIG" print-ISOLATION)
if [ -n "$isolation" ]; then
	"$PGXS_DIR/src/test/isolation/pg_isolation_regress" --bindir="$PG_BINDIR" \
		--inputdir=test/isolation --outputdir=output_iso \
		--load-extension=pgcredit --dbname=isolation_regression \
		$isolation >"$out/isolation.log" 2>&1
	rc=$?
	count_results "$out/isolation.log" isolation
	if [ $rc -ne 0 ]; then
		grep -E '\.\.\. (FAILED|failed)' "$out/isolation.log"
		[ -f output_iso/regression.diffs ] && head -200 output_iso/regression.diffs
		grep -qE '\.\.\. (FAILED|failed)' "$out/isolation.log" ||
			{ cat "$out/isolation.log"; total_fail=$((total_fail + 1)); }
	fi
fi

shell_pass=0
shell_fail=0
for t in test/t/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if bash "$t" >"$out/$name.log" 2>&1; then
		shell_pass=$((shell_pass + 1))
	else
		shell_fail=$((shell_fail + 1))
		echo "shell test $name FAILED; its output:"
		tail -50 "$out/$name.log"
	fi
done
printf '%-10s %3d passed %3d failed\n' shell "$shell_pass" "$shell_fail"
total_pass=$((total_pass + shell_pass))
total_fail=$((total_fail + shell_fail))

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
