#!/usr/bin/env bash
# Lay out pgcredit's C sources as PostgreSQL's pgindent lays out its own:
# Debian's pg_bsd_indent (package pg-bsd-indent) with pgindent's options
# and the type names of typedefs.list.  make indent runs this on src/;
# test/t/indent.sh runs it on a copy and fails when anything changes.
#
#   test/indent.sh [DIR]   indent every .c and .h file under DIR (default src)
#   PG_BSD_INDENT          the indent program (default pg_bsd_indent)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/src}
PG_BSD_INDENT=${PG_BSD_INDENT:-pg_bsd_indent}

if ! command -v "$PG_BSD_INDENT" >/dev/null 2>&1; then
	echo "indent: $PG_BSD_INDENT not found; install the Debian package pg-bsd-indent" >&2
	exit 1
fi

# pgindent's options (src/tools/pgindent/pgindent in PostgreSQL)
opts=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79
	-lp -lpl -nip -npro -sac -tpg -ts4 "-U$root/typedefs.list")

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
find "$dir" -name '*.[ch]' | sort | while read -r f; do
	"$PG_BSD_INDENT" "${opts[@]}" "$f" "$tmp"
	# a function's return type alone on its line keeps "char *", which
	# pg_bsd_indent would space out as a declaration (pgindent does the same)
	sed -i -E 's/^([A-Za-z_][A-Za-z0-9_ ]*[A-Za-z0-9_])[[:space:]]+\*$/\1 */' "$tmp"
	# rewrite only what changed, so that make rebuilds only that
	cmp -s "$f" "$tmp" || cat "$tmp" > "$f"
done
