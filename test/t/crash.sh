#!/usr/bin/env bash
# A short stress run with an immediate stop of the server in the middle:
# after recovery, exposure still matches the tables and no customer ever
# went past its limit.  make stress runs the long version.
set -euo pipefail
cd "$(dirname "$0")/../.."
CRASH=1 STRESS_SECONDS=${STRESS_SECONDS:-12} STRESS_CLIENTS=${STRESS_CLIENTS:-8} \
	STRESS_DB=pgcredit_crash bash test/stress/run.sh
