#!/usr/bin/env bash
# make test: install what is missing, build with warnings as errors,
# install, and run every suite on a throwaway cluster (the TAP tests on
# nodes of their own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
. test/common.sh

# PostgreSQL's own warning flags, plus -Wextra, all as errors.
WERROR="-Werror -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers"

echo "== build (warnings are errors)"
make -s PG_CONFIG="$PG_CONFIG" clean
build_and_install COPT="$WERROR"

# The TAP tests' nodes must load the build just installed, not one left
# under a DESTDIR.
unset PGCREDIT_DESTDIR

echo "== suites on a throwaway PostgreSQL $PGVER cluster"
with_throwaway_cluster bash test/suites.sh
