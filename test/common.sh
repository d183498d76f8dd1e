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
