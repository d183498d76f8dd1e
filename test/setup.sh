#!/usr/bin/env bash
# Install what pgcredit needs to build, test and demo, when it is missing.
#
# As root the missing Debian packages are installed with apt-get; as another
# user with password-less sudo, through sudo; otherwise the script says what
# to install and stops.  Nothing is done when everything is present.
set -euo pipefail

PGVER=${PGVER:-15}
packages=(
	make gcc
	"postgresql-$PGVER"           # server, pg_dump, pgbench
	"postgresql-server-dev-$PGVER" # headers, PGXS, pg_regress, isolation tester
	postgresql-common             # pg_virtualenv, pg_createcluster
	libcsv-dev                    # CSV parsing
	"postgresql-$PGVER-cron"      # the nightly refresh_scores recipe (test/t/cron.pl)
	perl libipc-run-perl          # TAP tests: prove, and IPC::Run for PostgreSQL::Test::Cluster
	pg-bsd-indent                 # make indent
	clang libclang-rt-14-dev      # the fuzz harness (libFuzzer)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# node and npm for the client test (test/t/node_client.pl), from Debian
# when the machine has no Node.js of its own
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "pgcredit: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "pgcredit: run as root, or install these Debian packages first: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
