#!/usr/bin/env bash
# A short fuzzing run of the CSV reader and field conversions: no crash,
# no sanitizer report and no broken invariant in FUZZ_SECONDS (default
# 15).  make fuzz runs the long version.
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-15} bash test/fuzz/run.sh
