#!/usr/bin/env bash
# make stress: build and install pgcredit, then on a throwaway cluster run
# the stress workload (STRESS_SECONDS, default 60) and the crash run.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
. test/common.sh
build_and_install
with_throwaway_cluster -o "max_connections=100" bash -c '
	set -e
	bash test/stress/run.sh
	CRASH=1 bash test/stress/run.sh
'
