#!/usr/bin/env bash
# make fuzz-sql: install sqlsmith when it is missing, build and install
# pgcredit, and on a throwaway cluster run test/fuzz_sql/run.sh: random
# SQL from sqlsmith as a plain application role against attached company
# tables, then checks that no server process crashed, that exposure
# matches the tables and that no role or account changed.  See run.sh for
# the FUZZ_SQL_* settings (seed, seconds, statements).
#
#   PGCREDIT_DESTDIR  when set, pgcredit is installed under this directory
#                     (make install DESTDIR=...) instead of into the system,
#                     and the cluster finds it there through Debian's
#                     extension_destdir; no root needed for that part, and
#                     the system-wide install is left alone.  For example:
#                     PGCREDIT_DESTDIR=/tmp/dest-mine make fuzz-sql
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
. test/common.sh

# sqlsmith, from Debian, as root (or through password-less sudo) when missing
if ! command -v sqlsmith >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		echo "fuzz-sql: run as root, or install the Debian package sqlsmith first" >&2
		exit 1
	fi
	echo "fuzz-sql: installing missing package: sqlsmith"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends sqlsmith
fi

cluster_opts=()
if [ -n "${PGCREDIT_DESTDIR:-}" ]; then
	dest=$(realpath -m "$PGCREDIT_DESTDIR")
	make -s PG_CONFIG="$PG_CONFIG"
	make -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$dest" >/dev/null
	chmod -R a+rX "$dest"	# the server runs as postgres
	cluster_opts=(-o "extension_destdir=$dest")
else
	build_and_install
fi
# the whole text of a statement that crashed a server process in the log
with_throwaway_cluster "${cluster_opts[@]}" -o "track_activity_query_size=65536" \
	bash test/fuzz_sql/run.sh
