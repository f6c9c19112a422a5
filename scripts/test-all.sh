#!/usr/bin/env bash
# `npm test`: the unit and host projects, then the integration suites. The integration suites'
# tools tree (`boxes setup` into their shared cache) is built meanwhile: its downloads and dpkg
# runs leave the CPUs the small tests want. Stops at the first failing step; exit 1 then.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
npm run build || exit 1
log=$(mktemp)
start=$SECONDS
BOXES_CACHE_DIR="${BOXES_IT_CACHE:-/var/tmp/boxes-it-cache}" node dist/cli.js setup >"$log" 2>&1 &
setup=$!
trap 'kill -TERM "$setup" 2>/dev/null; rm -f "$log"' EXIT
status=0
npx vitest run --project unit && npx vitest run --project host || status=1
wait "$setup"
setup_status=$?
echo "=== boxes setup (beside the unit and host projects) took $((SECONDS - start))s, exit $setup_status"
cat "$log"
[ "$status" = 0 ] && [ "$setup_status" = 0 ] || exit 1
scripts/test-integration.sh
