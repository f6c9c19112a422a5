#!/bin/bash
# Creates the OpenPGP keys of the fixture Arch repository, shaped like Arch's: a master key that
# only certifies, a packager key the master key signed, and a rogue key nobody signed. Writes what
# the archlinux-keyring package ships (archlinux.gpg with master and packager, archlinux-trusted
# naming the master, an empty archlinux-revoked) and keeps the private keys in OUTDIR/gnupg, with
# which make-arch-repo.sh signs packages.
#
# Usage: make-arch-keys.sh OUTDIR
# Keys are new each run; their creation time is fixed (KEY_TIME, default 2023-11-14) so that they
# predate the SOURCE_DATE_EPOCH the tests build with.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: ${0##*/} OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
time=${KEY_TIME:-1700000000}
export GNUPGHOME=$out/gnupg
rm -rf "$GNUPGHOME"
install -d -m 0700 "$GNUPGHOME"
trap 'gpgconf --kill all' EXIT

g() { gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase '' --faked-system-time "$time!" "$@"; }
fpr() { gpg --batch --with-colons --list-keys "$1" | awk -F: '$1 == "fpr" { print $10; exit }'; }

g --quick-generate-key 'boxes fixture master key <master@example.invalid>' ed25519 cert never
g --quick-generate-key 'boxes fixture packager <packager@example.invalid>' ed25519 sign never
g --quick-generate-key 'boxes fixture rogue <rogue@example.invalid>' ed25519 sign never
master=$(fpr master@example.invalid)
packager=$(fpr packager@example.invalid)
rogue=$(fpr rogue@example.invalid)
g --default-key "$master" --quick-sign-key "$packager"

g --export "$master" "$packager" >"$out/archlinux.gpg"
printf '%s:4:\n' "$master" >"$out/archlinux-trusted"
: >"$out/archlinux-revoked"
printf '%s\n' "$packager" >"$out/packager.fpr"
printf '%s\n' "$rogue" >"$out/rogue.fpr"
printf '%s\n' "$time" >"$out/time"
