#!/bin/bash
# Proves that a rootless build gives the root build's bytes: builds every profile (and every
# container variant) once as root and once as a fresh unprivileged user with subordinate id ranges,
# each from its own clean clone of HEAD with its own `npm ci` and its own cache (tools tree
# included), then compares each artifact's sha256 and build record. Prints one line per artifact
# and exits 1 if any differs.
#
# Usage (as root): scripts/rootless-parity.sh [-u USER] [-w WORKDIR] [-d debian|arch] [TARGET...]
#   TARGET is PROFILE or container:VARIANT (default: the whole Debian matrix). With -d arch only
#   the container is built, from a generated fixture repository (no Arch mirror is needed).
#   BOXES_CACHE_DIR, when set, is root's cache (to reuse a tools tree); the user always starts empty.
set -euo pipefail

user=boxes-parity
work=/var/tmp/boxes-parity
distribution=debian
epoch=1763856000
while getopts u:w:d: opt; do
    case $opt in
        u) user=$OPTARG ;;
        w) work=$OPTARG ;;
        d) distribution=$OPTARG ;;
        *) echo "usage: ${0##*/} [-u USER] [-w WORKDIR] [-d debian|arch] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ "$(id -u)" -ne 0 ]; then
    echo "${0##*/}: run as root (it creates the unprivileged user and builds as both)" >&2
    exit 2
fi
# shellcheck source=scripts/lib/matrix.sh
. "$(dirname "$0")/lib/matrix.sh"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(matrix_targets "$distribution")
fi
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
commit=$(git -C "$src" rev-parse HEAD)

if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home "$user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
grep -q "^$user:" /etc/subuid || usermod --add-subuids 300000-365535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 300000-365535 "$user"
# Each side clones HEAD: neither sees the other's work tree or local edits.
runuser -u "$user" -- git config --global safe.directory '*'
git config --global --get-all safe.directory | grep -qx '\*' || git config --global --add safe.directory '*'

clone() { # AS_USER DIR
    local as=$1 dir=$2
    rm -rf "$dir"
    if [ "$as" = root ]; then git clone -q "$src" "$dir"; else runuser -u "$as" -- git clone -q "$src" "$dir"; fi
    (cd "$dir" && git checkout -q "$commit")
    if [ "$as" = root ]; then (cd "$dir" && npm ci --no-audit --no-fund >/dev/null); else (cd "$dir" && runuser -u "$as" -- npm ci --no-audit --no-fund >/dev/null); fi
}

mkdir -p "$work"
chmod 0755 "$work"
echo "=== clones of $commit: $work/boxes (root), $home/boxes ($user)"
clone root "$work/boxes"
clone "$user" "$home/boxes"
rm -rf "$work/out" "$home/out" "$home/cache"

extra=()
if [ "$distribution" = arch ]; then
    # No Arch mirror is reachable here: a generated repository with the root side's pacman tools.
    echo "=== Arch fixture repository"
    cache=${BOXES_CACHE_DIR:-$work/cache}
    if ! ls -d "$cache"/tools/debian-*/usr/bin >/dev/null 2>&1; then
        BOXES_CACHE_DIR=$cache node "$work/boxes/dist/cli.js" build --profile container \
            --distribution debian --output-dir "$work/tools-seed" >/dev/null
    fi
    for tools in "$cache"/tools/debian-*; do break; done
    # With signed packages and a keyring package, so the image's populated keyring is compared too.
    bash "$work/boxes/test/support/make-arch-keys.sh" "$work/arch-keys" 2>/dev/null
    bash "$work/boxes/test/support/make-arch-repo.sh" "$work/arch-repo" "$tools" "$work/arch-keys"
    # The fixture's master keys are not Arch's: both sides use the fixture's own trust anchor.
    bash "$work/boxes/scripts/keyring-anchor.sh" -o "$work/arch-anchor" "$work/arch-keys" >/dev/null
    chmod -R a+rX "$work/arch-repo" "$work/arch-anchor"
    extra=(--mirror "file://$work/arch-repo" --no-repository-key-check --keyring-anchor "$work/arch-anchor")
fi

build() { # SIDE TARGET OUTDIR -> prints the artifact path
    local side=$1 target=$2 out=$3 args
    args=(build --distribution "$distribution" --source-date-epoch "$epoch" --output-dir "$out" --json "${extra[@]}")
    case $target in
        container:*) args+=(--profile container --variant "${target#container:}") ;;
        *) args+=(--profile "$target") ;;
    esac
    if [ "$side" = root ]; then
        BOXES_CACHE_DIR=${BOXES_CACHE_DIR:-$work/cache} node "$work/boxes/dist/cli.js" "${args[@]}"
    else
        runuser -u "$user" -- env BOXES_CACHE_DIR="$home/cache" node "$home/boxes/dist/cli.js" "${args[@]}"
    fi | jq -r '.artifacts[0].path'
}

failed=0
results=()
for target in "${targets[@]}"; do
    for side in root "$user"; do
        start=$SECONDS
        if [ "$side" = root ]; then out=$work/out/${target/:/-}; else out=$home/out/${target/:/-}; fi
        path=$(build "$side" "$target" "$out")
        echo "=== $target as $side: $((SECONDS - start))s $(sha256sum "$path" | cut -c1-64)"
        if [ "$side" = root ]; then rootpath=$path; else userpath=$path; fi
    done
    if stat -c '%U' "$userpath" "$userpath.manifest.json" | grep -vqx "$user"; then
        verdict="DIFFERS (files not owned by $user)"
        failed=1
    elif cmp -s "$rootpath" "$userpath" && cmp -s "$rootpath.manifest.json" "$userpath.manifest.json"; then
        verdict=identical
    else
        verdict=DIFFERS
        failed=1
    fi
    results+=("$(printf '%-28s %s  %s' "$target" "$(sha256sum "$rootpath" | cut -c1-16)" "$verdict")")
done

echo "=== rootless ($user) vs root, $distribution, commit $commit"
printf '%s\n' "${results[@]}"
exit $failed
