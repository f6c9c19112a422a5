#!/bin/bash
# Creates the OpenPGP keys of the fixture Arch repository, shaped like Arch's keyring: five master
# keys that only certify (master1-3 trusted, master4 revoked, master5 in the keyring but untrusted),
# packager keys certified by one, two or three of them, and a rogue key nobody certified. Writes
# what two releases of the archlinux-keyring package ship:
#   OUTDIR/archlinux.gpg, archlinux-trusted, archlinux-revoked        release 1
#   OUTDIR/v2/archlinux.gpg, archlinux-trusted, archlinux-revoked     release 2: adds packager
#       `newbie` and revokes packager `doomed`
# and keeps the private keys in OUTDIR/gnupg, with which make-arch-repo.sh signs packages.
# OUTDIR/<name>.fpr holds each key's fingerprint.
#
# Packagers and who certified them (Arch trusts a packager certified by three trusted masters):
#   packager  master1 master2 master3      valid
#   one       master1                      not valid
#   two       master1 master2              not valid
#   m4        master1 master2 master4      not valid (master4 is revoked)
#   m5        master1 master2 master5      not valid (master5 is not trusted)
#   doomed    master1 master2 master3      valid in release 1, revoked in release 2
#   newbie    master1 master2 master3      only in release 2
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
fpr() { gpg --batch --with-colons --list-keys "<$1@example.invalid>" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'; }

new_key() { # NAME USAGE
    g --quick-generate-key "boxes fixture $1 <$1@example.invalid>" ed25519 "$2" never 2>/dev/null
    fpr "$1" >"$out/$1.fpr"
}
certify() { # PACKAGER MASTER...
    local packager=$1 master
    shift
    for master in "$@"; do
        g --default-key "$(cat "$out/$master.fpr")" --quick-sign-key "$(cat "$out/$packager.fpr")" >/dev/null 2>&1
    done
}

for m in master1 master2 master3 master4 master5; do new_key "$m" cert; done
for p in packager one two m4 m5 doomed newbie rogue; do new_key "$p" sign; done
certify packager master1 master2 master3
certify one master1
certify two master1 master2
certify m4 master1 master2 master4
certify m5 master1 master2 master5
certify doomed master1 master2 master3
certify newbie master1 master2 master3

release() { # DIR PACKAGER... -> the keyring files of one archlinux-keyring release
    local dir=$1 name
    shift
    mkdir -p "$dir"
    local fprs=()
    for name in master1 master2 master3 master4 master5 "$@"; do fprs+=("$(cat "$out/$name.fpr")"); done
    g --export "${fprs[@]}" >"$dir/archlinux.gpg" 2>/dev/null
    for name in master1 master2 master3; do printf '%s:4:\n' "$(cat "$out/$name.fpr")"; done >"$dir/archlinux-trusted"
    cat "$out/master4.fpr" >"$dir/archlinux-revoked"
}
release "$out" packager one two m4 m5 doomed
release "$out/v2" packager one two m4 m5 doomed newbie
cat "$out/doomed.fpr" >>"$out/v2/archlinux-revoked"
printf '%s\n' "$time" >"$out/time"
