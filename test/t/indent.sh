#!/usr/bin/env bash
# make indent leaves the tree unchanged: src/ is laid out as pg_bsd_indent
# lays it out with pgindent's options, and typedefs.list names every type
# src/ defines.  Runs on a copy; needs no cluster.  On a failure it prints
# what make indent (or make typedefs, then make indent) would change.
set -euo pipefail
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# every type src/ defines is in typedefs.list
mkdir -p "$tmp/tree/test"
cp -r src typedefs.list "$tmp/tree/"
cp test/typedefs.sh test/indent.sh "$tmp/tree/test/"
find "$tmp/tree/src" -name '*.o' -delete
bash "$tmp/tree/test/typedefs.sh" >/dev/null
if ! diff -u typedefs.list "$tmp/tree/typedefs.list"; then
	echo "indent: typedefs.list is out of date; run make typedefs, then make indent"
	exit 1
fi

bash "$tmp/tree/test/indent.sh" "$tmp/tree/src"
if ! diff -ru -x '*.o' src "$tmp/tree/src"; then
	echo "indent: src/ is not laid out as make indent lays it out; run make indent"
	exit 1
fi
echo "indent: src/ unchanged by make indent ($(find src -name '*.[ch]' | wc -l) files)"
