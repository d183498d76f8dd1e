#!/usr/bin/env bash
# Build the libFuzzer harness of the CSV reader and field conversions and
# run it for FUZZ_SECONDS (default 30), ending with a one-line summary.
# Exits non-zero when the fuzzer finds a crash or a broken invariant; the
# input is then kept in the build directory's artifacts/.
#
#   FUZZ_SECONDS  how long to fuzz (default 30)
#   FUZZ_SRC      directory of csv_reader.c and csv_field.c (default src)
#   FUZZ_BUILD    build, corpus and artifacts (default test/fuzz/build)
#   FUZZ_STRICT   1 (default): readings whole and in pieces must end with the same error
#   SHARED_DATA   sample files seeding the corpus (default ../shared/data/ibm-ar)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_SRC=${FUZZ_SRC:-src}
FUZZ_BUILD=${FUZZ_BUILD:-test/fuzz/build}
FUZZ_STRICT=${FUZZ_STRICT:-1}
SHARED_DATA=${SHARED_DATA:-$(cd "$root/.." && pwd)/shared/data/ibm-ar}

# clang, its libFuzzer runtime and libcsv, installed as root when missing
missing=()
for p in clang libclang-rt-14-dev libcsv-dev; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "fuzz: run as root, or install these Debian packages first: ${missing[*]}" >&2
		exit 1
	fi
	echo "fuzz: installing missing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Build: UBSan findings abort too, so that they count as crashes.
mkdir -p "$FUZZ_BUILD/artifacts"
bin=$FUZZ_BUILD/fuzz_csv
defines=()
[ "$FUZZ_STRICT" = 1 ] && defines=(-DFUZZ_STRICT)
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall "${defines[@]}" -I "$FUZZ_SRC" \
	test/fuzz/fuzz_csv.c "$FUZZ_SRC/csv_reader.c" "$FUZZ_SRC/csv_field.c" \
	-lcsv -o "$bin"

# Seeds: each CSV snippet of seeds/*.csv behind a few option headers (see
# fuzz_csv.c): comma whole; detected, MDY, pieces; detected, DMY, decimal
# comma, stop after 3; semicolon, 13-byte fields, stop after 2, starved
# allocator; detected with single quotes.
corpus=$FUZZ_BUILD/corpus
mkdir -p "$corpus"
headers=('\x00\x00\x00\x00' '\x24\x85\x00\x00' '\xc4\x07\x03\x00'
	'\x11\x02\x32\x45' '\x0c\x01\x00\x00')
seed() {
	local name=$1 file=$2 i
	for i in "${!headers[@]}"; do
		{ printf "${headers[$i]}"; cat "$file"; } > "$corpus/seed-$name-$i"
	done
}
for f in test/fuzz/seeds/*.csv; do
	seed "$(basename "$f" .csv)" "$f"
done
# Inputs the fuzzer once failed on, kept whole with their option header so
# that every run replays them as they were found.
for f in test/fuzz/seeds/*.input; do
	[ -e "$f" ] || continue
	cp "$f" "$corpus/seed-$(basename "$f")"
done
nsamples=0
for f in accounts-receivable.csv accounts-receivable-with-missing.csv; do
	if [ -f "$SHARED_DATA/$f" ]; then
		tmp=$(mktemp)
		head -n 20 "$SHARED_DATA/$f" > "$tmp"
		seed "${f%.csv}" "$tmp"
		rm -f "$tmp"
		nsamples=$((nsamples + 1))
	fi
done
[ $nsamples -gt 0 ] || echo "fuzz: no sample files in $SHARED_DATA, seeding from test/fuzz/seeds only"

# Run: new inputs go to the build-local corpus, crashes to artifacts/.
log=$FUZZ_BUILD/fuzz.log
start=$(date +%s)
set +e
"$bin" -max_len=4096 -max_total_time="$FUZZ_SECONDS" -timeout=10 \
	-dict=test/fuzz/csv.dict -print_final_stats=1 \
	-artifact_prefix="$FUZZ_BUILD/artifacts/" "$corpus" > "$log" 2>&1
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))

final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
if [ $rc -ne 0 ]; then
	grep -E 'invariant failed|ERROR: |SUMMARY|runtime error' "$log" | head -5 || true
	artifact=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
	echo "fuzz: FAILED after ${elapsed}s (exit $rc): input ${artifact:-unknown}, log $log"
	exit 1
fi
echo "fuzz: ok, $(final_stat number_of_executed_units) runs in ${elapsed}s," \
	"$(final_stat average_exec_per_sec) exec/s, cov ${cov:-?}, corpus ${corp:-?}, no crash"
