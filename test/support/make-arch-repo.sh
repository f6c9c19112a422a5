#!/bin/bash
# Creates a local pacman repository of tiny fake Arch packages, so that mkosi can build an Arch
# image where no Arch mirror is reachable:
#   mkosi --distribution arch --local-mirror=file://OUTDIR --repository-key-check=no ...
# With LocalMirror= mkosi configures exactly one repository, named `core`, whose Server is the mirror
# URL itself (no $repo/$arch), and ignores Repositories= (so also `multilib`). Hence every package,
# multilib-devel included, lives in OUTDIR/core.db.
#
# Usage: make-arch-repo.sh OUTDIR TOOLS_TREE [KEYS]
#   TOOLS_TREE: an mkosi tools tree (Debian trixie) providing repo-add and usr/share/makepkg;
#   its bsdtar/zstd are used only when the host lacks them.
#   KEYS: what make-arch-keys.sh wrote. With it the repository gets an archlinux-keyring package
#   (base depends on it, as in Arch; with Arch's install script, which runs pacman-key
#   --populate), a `pacman` package holding the host's pacman-key and GnuPG (so that scriptlets
#   and hooks work in the image's chroot), packages signed by each fixture packager (`hello` by
#   `packager`, `hello-one`, `hello-two`, `hello-m4`, `hello-m5`, `doomed`, and with
#   KEYRING_RELEASE=2 `newbie`) and `rogue`, signed by a key outside the keyring.
#   KEYRING_RELEASE=2 packs the keyring's second release (KEYS/v2) under a higher version.
#   KEYRING_DATA=DIR (without KEYS): archlinux-keyring holds DIR's archlinux.gpg, -trusted and
#   -revoked (e.g. Debian's copy of Arch's real keyring), and nothing is signed.
# Output is deterministic: same host binaries + same SOURCE_DATE_EPOCH (default 0) + same KEYS ->
# same bytes (signatures are made at the keys' fixed creation time; EdDSA is deterministic).
set -euo pipefail

usage() { echo "usage: ${0##*/} OUTDIR TOOLS_TREE [KEYS]" >&2; exit 2; }
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
out=$1
tools=$(cd "$2" && pwd)
keys=${3:+$(cd "$3" && pwd)}
if [ ! -x "$tools/usr/bin/repo-add" ] || [ ! -d "$tools/usr/share/makepkg" ]; then
    echo "${0##*/}: $tools has no usr/bin/repo-add or usr/share/makepkg" >&2
    exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
epoch=${SOURCE_DATE_EPOCH:-0}
export LC_ALL=C TZ=UTC
umask 022

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Host binaries first; the tools tree's (run through its own loader, as its glibc is newer than
# most hosts') only where the host has none. repo-add runs these by name, hence wrappers on PATH.
mkdir "$work/bin"
for tool in bsdtar zstd gzip; do
    command -v "$tool" >/dev/null && continue
    [ -x "$tools/usr/bin/$tool" ] || { echo "${0##*/}: need $tool on the host or in $tools" >&2; exit 2; }
    printf '#!/bin/sh\nexec "%s" --library-path "%s" "%s" "$@"\n' \
        "$tools/usr/lib64/ld-linux-x86-64.so.2" \
        "$tools/usr/lib/x86_64-linux-gnu:$tools/lib/x86_64-linux-gnu" \
        "$tools/usr/bin/$tool" >"$work/bin/$tool"
    chmod +x "$work/bin/$tool"
done
export PATH="$work/bin:$PATH"
if ! command -v gettext >/dev/null; then
    gettext() { printf '%s' "$1"; }
    export -f gettext
fi

# --- package contents -------------------------------------------------------------------------

root_of() { echo "$work/pkg/$1"; }

new_pkg() { # NAME -> creates an empty staging tree
    mkdir -p "$(root_of "$1")"
}

put() { # PKG PATH MODE CONTENT
    local f
    f=$(root_of "$1")/$2
    mkdir -p "${f%/*}"
    printf '%s' "$4" >"$f"
    chmod "$3" "$f"
}

put_lines() { # PKG PATH MODE LINE... (each line newline-terminated)
    local pkg=$1 path=$2 mode=$3
    shift 3
    put "$pkg" "$path" "$mode" "$(printf '%s\n' "$@")
"
}

new_pkg filesystem
fs=$(root_of filesystem)
mkdir -p "$fs"/{usr/bin,usr/lib,usr/share,usr/local/bin,etc/pacman.d,var/log,var/cache,var/lib,var/tmp,tmp,root,home,dev,proc,sys,run,mnt,opt,srv,boot}
chmod 1777 "$fs/tmp" "$fs/var/tmp"
chmod 0750 "$fs/root"
chmod 0555 "$fs/proc" "$fs/sys"
ln -s usr/bin "$fs/bin"
ln -s usr/bin "$fs/sbin"
ln -s usr/lib "$fs/lib"
ln -s usr/lib "$fs/lib64"
ln -s bin "$fs/usr/sbin"
ln -s lib "$fs/usr/lib64"
ln -s ../usr/lib/os-release "$fs/etc/os-release"
put_lines filesystem usr/lib/os-release 0644 \
    'NAME="Arch Linux"' 'PRETTY_NAME="Arch Linux"' 'ID=arch' 'BUILD_ID=rolling' \
    'ANSI_COLOR="38;2;23;147;209"' 'HOME_URL="https://archlinux.org/"' 'LOGO=archlinux-logo'
put_lines filesystem etc/passwd 0644 \
    'root:x:0:0::/root:/usr/bin/bash' 'nobody:x:65534:65534:Kernel Overflow User:/:/usr/bin/nologin'
put_lines filesystem etc/group 0644 'root:x:0:root' 'nobody:x:65534:'
# An empty root password, as in Arch's filesystem package: the container finalize hook must lock it.
put_lines filesystem etc/shadow 0600 'root::14871::::::' 'nobody:!:14871::::::'
put_lines filesystem etc/gshadow 0600 'root:::root' 'nobody:!::'
put_lines filesystem etc/pacman.conf 0644 \
    '# boxes test fixture' '[options]' 'HoldPkg = pacman glibc' 'Architecture = auto' \
    'SigLevel = Required DatabaseOptional' 'LocalFileSigLevel = Optional' '' \
    '[core]' 'Include = /etc/pacman.d/mirrorlist' '' '[extra]' 'Include = /etc/pacman.d/mirrorlist' '' \
    '#[multilib]' '#Include = /etc/pacman.d/mirrorlist'
# shellcheck disable=SC2016 # pacman expands $repo and $arch
put_lines filesystem etc/pacman.d/mirrorlist 0644 '#Server = https://geo.mirror.pkgbuild.com/$repo/os/$arch'

# bash, ls and cat (and coreutils' rm, which pacman hooks run) from the host with the libraries
# they load. The loader goes to usr/lib, which the binaries' /lib64/ld-linux-x86-64.so.2 reaches
# through filesystem's lib64 -> usr/lib; the libraries to usr/lib, which glibc's loader searches
# (as /lib) without an ld.so.cache.
new_pkg bash
bashroot=$(root_of bash)
mkdir -p "$bashroot/usr/bin" "$bashroot/usr/lib"
bins=()
for b in bash ls cat; do
    p=$(command -v "$b")
    bins+=("$p")
    cp -L "$p" "$bashroot/usr/bin/$b"
done
new_pkg coreutils
mkdir -p "$(root_of coreutils)/usr/bin"
bins+=("$(command -v rm)")
cp -L "$(command -v rm)" "$(root_of coreutils)/usr/bin/rm"
chmod 0755 "$(root_of coreutils)/usr/bin/rm"
ln -s bash "$bashroot/usr/bin/sh"
while read -r lib; do
    cp -L "$lib" "$bashroot/usr/lib/${lib##*/}"
done < <(ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && NF > 1 { print $1 }' | sort -u)
chmod 0755 "$bashroot"/usr/bin/* "$bashroot"/usr/lib/*
# Documentation and translations, which a slim container must not contain.
put bash usr/share/man/man1/x.1 0644 $'.TH X 1\n.SH NAME\nx \\- boxes test fixture\n'
put bash usr/share/locale/de/x.mo 0644 'not a real catalog'
put bash usr/share/locale/de/LC_MESSAGES/x.mo 0644 'not a real catalog'
put bash usr/share/doc/x/README 0644 $'boxes test fixture\n'

new_pkg base
new_pkg base-devel
put base-devel usr/share/boxes-fixture/base-devel 0644 $'base-devel\n'
new_pkg multilib-devel
put multilib-devel usr/share/boxes-fixture/multilib-devel 0644 $'multilib-devel\n'

# --- packing ----------------------------------------------------------------------------------

packages=(filesystem bash coreutils base base-devel multilib-devel)
# Architecture, dependencies and release generation; a package not named here is `any`, has
# none and is generation 1.
declare -A arch=([filesystem]=x86_64 [bash]=x86_64 [coreutils]=x86_64 [pacman]=x86_64)
declare -A version=()
declare -A deps=([filesystem]='' [bash]='filesystem' [coreutils]='bash' [pacman]='bash coreutils'
    [base]='filesystem bash coreutils' [base-devel]='base' [multilib-devel]='base-devel')
release=${KEYRING_RELEASE:-1}
declare -A generation=()
declare -A signer=()
keyring_files() { # DIR -> archlinux-keyring's files, with Arch's install script
    local f
    new_pkg archlinux-keyring
    for f in archlinux.gpg archlinux-trusted archlinux-revoked; do
        install -D -m 0644 "$1/$f" "$(root_of archlinux-keyring)/usr/share/pacman/keyrings/$f"
    done
    put_lines archlinux-keyring .INSTALL 0644 \
        'post_upgrade() {' '    if usr/bin/pacman-key -l >/dev/null 2>&1; then' \
        '        usr/bin/pacman-key --populate' '        usr/bin/pacman-key --updatedb' '    fi' '}' \
        'post_install() {' '    if [ -x usr/bin/pacman-key ]; then' '        post_upgrade' '    fi' '}'
    deps[base]+=' archlinux-keyring'
    generation[archlinux-keyring]=$release
    packages+=(archlinux-keyring)
}
if [ -n "$keys" ]; then
    if [ "$release" = 1 ]; then keyring_files "$keys"; else keyring_files "$keys/v$release"; fi
    # pacman-key and what it runs, from the host: the keyring's install script and boxes'
    # keyring-init hook run them in the image's chroot. Arch's pacman-key reads Arch's keyrings path.
    new_pkg pacman
    proot=$(root_of pacman)
    mkdir -p "$proot/usr/bin" "$proot/usr/lib" "$proot/usr/share/makepkg/util"
    sed "s|^\([[:space:]]*local KEYRING_IMPORT_DIR=\).*|\1'/usr/share/pacman/keyrings'|" "$(command -v pacman-key)" >"$proot/usr/bin/pacman-key"
    cp /usr/share/makepkg/util/message.sh /usr/share/makepkg/util/parseopts.sh "$proot/usr/share/makepkg/util/"
    keytools=()
    for b in gpg gpg-agent vercmp pacman-conf gettext awk wc touch chmod mkdir grep; do
        p=$(command -v "$b")
        keytools+=("$p")
        cp -L "$p" "$proot/usr/bin/$b"
    done
    while read -r lib; do
        [ -e "$bashroot/usr/lib/${lib##*/}" ] || cp -L "$lib" "$proot/usr/lib/${lib##*/}"
    done < <(ldd "${keytools[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && NF > 1 { print $1 }' | sort -u)
    chmod 0755 "$proot"/usr/bin/* "$proot"/usr/lib/*
    deps[base]+=' pacman'
    packages+=(pacman)
    for p in hello:packager hello-one:one hello-two:two hello-m4:m4 hello-m5:m5 doomed:doomed rogue:rogue newbie:newbie; do
        name=${p%%:*}
        [ "$name" != newbie ] || [ "$release" != 1 ] || continue
        new_pkg "$name"
        put "$name" "usr/share/boxes-fixture/$name" 0644 "$name, signed by ${p#*:}
"
        signer[$name]=${p#*:}
        packages+=("$name")
    done
elif [ -n "${KEYRING_DATA:-}" ]; then
    keyring_files "$KEYRING_DATA"
fi
declare -A backup=([filesystem]='etc/group etc/gshadow etc/pacman.conf etc/passwd etc/shadow')

tar_ids=(--uid 0 --gid 0 --uname root --gname root)

file_of() { echo "$work/repo/$1-${version[$1]}-${arch[$1]:-any}.pkg.tar.zst"; }

# Another content, another version (<generation>.0.<hash>-1): a package cache holding an earlier
# run's package of the same name (new keys, a changed fixture) never mistakes it for this one, and
# a later generation (the keyring's second release) is an upgrade.
content_version() { # NAME
    local dir
    dir=$(root_of "$1")
    {
        (cd "$dir" && find . -mindepth 1 -printf '%P %m %y %l\n' | LC_ALL=C sort)
        (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
        printf '%s\n' "${deps[$1]:-}" "${backup[$1]:-}" "${arch[$1]:-any}"
    } | sha256sum | cut -c1-10 | sed "s/^/${generation[$1]:-1}.0./; s/\$/-1/"
}

pack() { # NAME -> OUTDIR-to-be/NAME-VERSION-ARCH.pkg.tar.zst
    local name=$1 dir size d b file
    dir=$(root_of "$name")
    version[$name]=$(content_version "$name")
    size=$(du -sk --apparent-size "$dir" | cut -f1)
    {
        echo "# Generated by boxes test/support/make-arch-repo.sh"
        echo "pkgname = $name"
        echo "pkgbase = $name"
        echo "pkgver = ${version[$name]}"
        echo "pkgdesc = boxes test fixture: $name"
        echo "url = https://example.invalid/boxes"
        echo "builddate = $epoch"
        echo "packager = boxes test fixture <fixture@example.invalid>"
        echo "size = $((size * 1024))"
        echo "arch = ${arch[$name]:-any}"
        echo "license = GPL-3.0-or-later"
        for b in ${backup[$name]:-}; do echo "backup = $b"; done
        for d in ${deps[$name]:-}; do echo "depend = $d"; done
    } >"$dir/.PKGINFO"
    find "$dir" -exec touch -h -d "@$epoch" {} +
    (
        cd "$dir"
        find . -mindepth 1 ! -name .PKGINFO -printf '%P\0' | sort -z >"$work/files"
        bsdtar -cnf - --format=mtree "${tar_ids[@]}" \
            --options='!all,use-set,type,uid,gid,mode,time,size,md5,sha256,link' \
            --null --files-from - <"$work/files" | gzip -c -f -n >.MTREE
        touch -d "@$epoch" .MTREE
        file=$(file_of "$name")
        { printf '%s\0' .PKGINFO .MTREE; cat "$work/files"; } |
            bsdtar --no-fflags --no-xattrs --no-acls -cnf - "${tar_ids[@]}" --null --files-from - |
            zstd -q -c -T1 -3 >"$file"
    )
}

sign() { # NAME KEY_FPR_FILE -> NAME's package gets a detached signature, as Arch's do
    GNUPGHOME=$keys/gnupg gpg --batch --quiet --no-tty --faked-system-time "$(cat "$keys/time")!" \
        --local-user "$(cat "$keys/$2")" --detach-sign --no-armor \
        -o "$(file_of "$1").sig" "$(file_of "$1")" 2>/dev/null
}

mkdir "$work/repo"
for name in "${packages[@]}"; do
    pack "$name"
    if [ -n "$keys" ]; then
        sign "$name" "${signer[$name]:-packager}.fpr"
    fi
done
[ -z "$keys" ] || GNUPGHOME=$keys/gnupg gpgconf --kill all

# --include-sigs: pacman 6.0 (Debian bookworm's, which the tests run) reads signatures only from
# the database.
MAKEPKG_LIBRARY=$tools/usr/share/makepkg bash "$tools/usr/bin/repo-add" --quiet --nocolor --include-sigs \
    "$work/repo/core.db.tar.gz" "$work/repo"/*.pkg.tar.zst

# repo-add stamps the wall clock and the caller's ids into the database archives: repack them.
for db in core.db core.files; do
    rm -rf "$work/db"
    mkdir "$work/db"
    bsdtar -xf "$work/repo/$db.tar.gz" -C "$work/db"
    find "$work/db" -exec touch -h -d "@$epoch" {} +
    (cd "$work/db" && find . -mindepth 1 -printf '%P\0' | sort -z |
        bsdtar --no-fflags --no-xattrs --no-acls -cnf - "${tar_ids[@]}" --null --files-from - |
        gzip -c -n -9 >"$work/repo/$db.tar.gz")
    rm -f "$work/repo/$db"
    ln -s "$db.tar.gz" "$work/repo/$db"
done
rm -f "$work/repo"/*.old

rm -f "$out"/*.pkg.tar.zst "$out"/*.pkg.tar.zst.sig "$out"/core.db* "$out"/core.files*
mv "$work/repo"/* "$out"/
