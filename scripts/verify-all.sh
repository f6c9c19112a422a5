#!/bin/bash
# Runs `boxes verify` with every variation the machine allows for every profile (and every
# container variant) of a distribution, and prints one line per artifact: identical, or what
# differs and under which variations. Exits 1 if any artifact differs.
#
# Usage: scripts/verify-all.sh [-w WORKDIR] [-d debian|arch] [TARGET...]
#   TARGET is PROFILE or container:VARIANT (default: every profile; Arch: the containers). Arch is
#   built from a generated fixture repository (no Arch mirror is needed), with a tools tree that
#   provides repo-add: set BOXES_TOOLS_TREE, or it is read from a first Debian verify's report.
#   Extra verify options (e.g. --bisect, --no-vary cpus) go in BOXES_VERIFY_ARGS.
set -euo pipefail

work=/var/tmp/boxes-verify-all
distribution=debian
epoch=1763856000
while getopts w:d: opt; do
    case $opt in
        w) work=$OPTARG ;;
        d) distribution=$OPTARG ;;
        *) echo "usage: ${0##*/} [-w WORKDIR] [-d debian|arch] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
# shellcheck source=scripts/lib/matrix.sh
. "$(dirname "$0")/lib/matrix.sh"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(matrix_targets "$distribution")
fi
src=$(cd "$(dirname "$0")/.." && pwd)
boxes=(node "$src/dist/cli.js")
mkdir -p "$work"

extra=()
if [ "$distribution" = arch ]; then
    tools=${BOXES_TOOLS_TREE:?set BOXES_TOOLS_TREE to a tools tree (boxes build prints its path)}
    if [ ! -f "$work/arch-repo/core.db" ] || [ ! -f "$work/arch-anchor/certified" ]; then
        bash "$src/test/support/make-arch-keys.sh" "$work/arch-keys"
        bash "$src/test/support/make-arch-repo.sh" "$work/arch-repo" "$tools" "$work/arch-keys"
        # The fixture's master keys are not Arch's: the fixture gets its own keyring trust anchor.
        bash "$src/scripts/keyring-anchor.sh" -o "$work/arch-anchor" "$work/arch-keys" >/dev/null
    fi
    extra=(--mirror "file://$work/arch-repo" --no-repository-key-check --keyring-anchor "$work/arch-anchor")
fi
read -ra user_args <<<"${BOXES_VERIFY_ARGS:-}"

status=0
for target in "${targets[@]}"; do
    profile=${target%%:*}
    variant=
    [ "$profile" = "$target" ] || variant=${target#*:}
    out="$work/$distribution/${target/:/-}"
    rm -rf "$out"
    mkdir -p "${out%/*}"
    start=$SECONDS
    set +e
    "${boxes[@]}" verify --profile "$profile" ${variant:+--variant "$variant"} --distribution "$distribution" \
        --source-date-epoch "$epoch" --output-dir "$out" --json "${extra[@]}" "${user_args[@]}" \
        >"$out.json" 2>"$out.log"
    code=$?
    set -e
    took=$((SECONDS - start))
    # Exit 1 is "differs" only when verify wrote its report; a failed build exits 1 too.
    if [ "$code" -gt 1 ] || ! jq -e .artifacts "$out.json" >/dev/null 2>&1; then
        echo "FAILED    $distribution $target (exit $code, ${took}s): $(grep '^boxes:' "$out.log" | tail -1)"
        status=1
        continue
    fi
    jq -r --arg t "$distribution $target" --arg took "${took}s" '
        (.variations | map(.name) | join(",")) as $v
        | .artifacts[]
        | if .identical then "identical \(.artifact | split("/") | last) [\($v)] \($took)"
          else "DIFFERS   \(.artifact | split("/") | last) [\($v)]: \(.where | join("; "))" end' "$out.json"
    [ "$code" -eq 0 ] || status=1
done
exit "$status"
