#!/bin/bash
# Refreshes the keyring trust anchor of the Arch container (see README, "The pacman keyring").
#
# Makes a new anchor key, lets it certify (locally, as `pacman-key --populate` does with its own
# key) every master key that a keyring directory lists in NAME-trusted, writes the anchor's public
# key and those certifications to OUTDIR, and destroys the anchor's private key. Nobody holds it
# afterwards: the anchor can certify nothing else, ever. The result is a reviewed commit.
#
# Usage: scripts/keyring-anchor.sh [-o OUTDIR] KEYRINGS_DIR
#   KEYRINGS_DIR: NAME.gpg and NAME-trusted files, e.g. usr/share/pacman/keyrings of an
#     archlinux-keyring package (or /usr/share/keyrings with Debian's archlinux-keyring).
#   OUTDIR: default mkosi.profiles/container/keyring-anchor of this checkout.
# Writes OUTDIR/anchor.asc (the public key) and OUTDIR/certifications/FINGERPRINT.asc for each master
# key (the key, minimal, with the anchor's local certification); a build imports those of the
# master keys its keyring trusts, so a key Arch stops trusting stops counting even under an old anchor.
set -euo pipefail

usage() { echo "usage: ${0##*/} [-o OUTDIR] KEYRINGS_DIR" >&2; exit 2; }
out=$(cd "$(dirname "$0")/.." && pwd)/mkosi.profiles/container/keyring-anchor
while getopts o: opt; do
    case $opt in
        o) out=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
keyrings=$1
command -v gpg >/dev/null || { echo "${0##*/}: needs gpg (apt-get install gnupg)" >&2; exit 2; }
shopt -s nullglob
trusted_files=("$keyrings"/*-trusted)
[ ${#trusted_files[@]} -gt 0 ] || { echo "${0##*/}: $keyrings has no NAME-trusted file" >&2; exit 2; }

# The anchor predates every key it certifies; each certification is dated at the later of the
# anchor's and the master key's creation, so it is valid for any SOURCE_DATE_EPOCH after both.
anchor_time=1262304000 # 2010-01-01

# The private key lives only in memory (a tmpfs where there is one) for the seconds this runs.
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
GNUPGHOME=$(mktemp -d "$base/keyring-anchor.XXXXXX")
export GNUPGHOME
destroy() { gpgconf --kill all 2>/dev/null || true; rm -rf "$GNUPGHOME"; }
trap destroy EXIT

g() { gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase '' "$@"; }

g --faked-system-time "$anchor_time!" --quick-generate-key \
    'boxes keyring anchor (private key destroyed after certifying) <keyring-anchor@boxes.invalid>' \
    ed25519 cert never 2>/dev/null
anchor=$(g --with-colons --list-keys keyring-anchor@boxes.invalid | awk -F: '$1 == "fpr" { print $10; exit }')

staging=$(mktemp -d "$base/keyring-anchor-out.XXXXXX")
trap 'destroy; rm -rf "$staging"' EXIT
masters=()
for trusted in "${trusted_files[@]}"; do
    name=$(basename "$trusted" -trusted)
    [ -f "$keyrings/$name.gpg" ] || { echo "${0##*/}: $trusted has no $name.gpg beside it" >&2; exit 2; }
    # Only what a certification needs: the key, its user ids and their newest self-signatures.
    g --import-options import-minimal --import "$keyrings/$name.gpg" 2>/dev/null
    while IFS=: read -r fpr _; do
        case $fpr in '' | '#'*) continue ;; esac
        created=$(g --with-colons --list-keys "$fpr" 2>/dev/null | awk -F: '$1 == "pub" { print $6; exit }')
        [ -n "$created" ] || { echo "${0##*/}: $name-trusted names $fpr, which $name.gpg does not hold" >&2; exit 1; }
        when=$((created > anchor_time ? created : anchor_time))
        g --faked-system-time "$when!" --default-key "$anchor" --quick-lsign-key "$fpr" >/dev/null 2>&1
        masters+=("$fpr")
    done <"$trusted"
done
[ ${#masters[@]} -gt 0 ] || { echo "${0##*/}: no trusted key listed in $keyrings" >&2; exit 1; }

g --armor --export "$anchor" >"$staging/anchor.asc"
mkdir "$staging/certifications"
for fpr in "${masters[@]}"; do
    fpr=$(printf '%s' "$fpr" | tr a-f A-F)
    g --armor --export-options export-local-sigs --export "$fpr" >"$staging/certifications/$fpr.asc"
done
destroy

# The whole anchor is replaced: certifications of an earlier anchor cannot be checked by this one.
mkdir -p "$out"
rm -rf "$out/certifications"
install -m 0644 "$staging/anchor.asc" "$out/anchor.asc"
install -d -m 0755 "$out/certifications"
install -m 0644 "$staging/certifications"/*.asc "$out/certifications/"
echo "anchor $anchor certified ${#masters[@]} master keys; its private key is gone. Review and commit $out."
