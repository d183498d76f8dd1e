#!/usr/bin/env bash
# make installcheck from a git archive tarball stands alone: built away
# from this checkout, without the shared sample, on a cluster of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash test/installcheck_tarball.sh
