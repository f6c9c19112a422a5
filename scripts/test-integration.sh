#!/usr/bin/env bash
# The integration suites: the vitest project `integration` runs its files one after another (they
# share one cache), and the fresh machine (project `fresh`, which shares nothing with them) runs
# beside it, in the CPU time their downloads and single-threaded phases leave idle. vitest runs
# projects one after another when one of them limits its workers, hence two processes.
# Exit status: non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
npx vitest run --project fresh &
fresh=$!
trap 'kill -TERM "$fresh" 2>/dev/null' INT TERM
npx vitest run --project integration
status=$?
wait "$fresh" || status=1
exit "$status"
