#!/usr/bin/env bash
# A fresh machine, as a stranger has one: a minimal Debian bookworm root made with mmdebstrap
# (python3, git, ca-certificates, uidmap, passwd; Node copied in from this host), entered as new
# mount, PID and UTS namespaces with its own /proc, /dev, /tmp and /run and an empty boxes cache.
# Inside it, as root and as an unprivileged user with subordinate ids: npm ci, the README's builds
# and boxes audit, with no apt-get; the user (root with --no-user) also boots basic with boxes test:
# their builds are compared byte for byte, so one boot proves both. Needs root and mmdebstrap.
#
#   scripts/fresh-machine.sh WORK_DIR [--no-user] [--no-boot]
# Writes WORK_DIR/summary.json (each step's seconds, the artifacts' sha256) and fails on any step.
set -euo pipefail
work=$(realpath -m "${1:?usage: fresh-machine.sh WORK_DIR [--no-user] [--no-boot]}")
shift
user=1 boot=1
for arg in "$@"; do
    case $arg in
    --no-user) user=0 ;;
    --no-boot) boot=0 ;;
    *) echo "fresh-machine.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
root=$work/root
mirror=${BOXES_FRESH_MIRROR:-http://deb.debian.org/debian}
epoch=${BOXES_FRESH_EPOCH:-1763856000}

if [ ! -e "$root/.complete" ]; then
    rm -rf "$root"
    mkdir -p "$work"
    start=$SECONDS
    mmdebstrap --quiet --variant=apt --include=python3,git,ca-certificates,uidmap,passwd bookworm "$root" "$mirror"
    echo "=== fresh root made in $((SECONDS - start))s"
    # Node and npm as this host has them: the one runtime the README asks for.
    install -D -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
    npm_dir=$(dirname "$(dirname "$(realpath "$(command -v npm)")")")
    mkdir -p "$root/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
    # The site's network settings, as a new machine of this site gets them: its resolver and the
    # certificate authorities it adds (an egress proxy's), which Node is told to trust too.
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >/dev/null
    fi
    chroot "$root" useradd --create-home --shell /bin/bash builder
    grep -q '^builder:' "$root/etc/subuid" || chroot "$root" usermod --add-subuids 100000-165535 --add-subgids 100000-165535 builder
    touch "$root/.complete"
fi

# The project as its checkout has it (tracked and new files, nothing ignored), once for each user.
copy_project() { # DEST OWNER
    rm -rf "$1"
    mkdir -p "$1"
    git -C "$here" ls-files -z --cached --others --exclude-standard | (cd "$here" && tar --null -T - -cf -) | tar -xf - -C "$1"
    chroot "$root" chown -R "$2:$2" "${1#"$root"}"
}
copy_project "$root/root/boxes" root
[ "$user" = 1 ] && copy_project "$root/home/builder/boxes" builder
# An empty cache each run, whatever an earlier run left: mkosi, the tools tree and packages come anew.
rm -rf "$root/root/.cache" "$root/root/.npm" "$root/home/builder/.cache" "$root/home/builder/.npm" "$root/out"
mkdir -p "$root/out/root" "$root/out/builder"
chroot "$root" chown builder:builder /out/builder
sha256sum "$root/var/lib/dpkg/status" >"$work/dpkg-status.before"

cat >"$root/run-checks" <<'EOF'
#!/bin/bash
# Inside the fresh root: WHO OUT EPOCH USER BOOT. Prints "=== step took Ns" lines and the summary.
set -euo pipefail
who=$1 out=$2 epoch=$3 boot=$4
cd ~/boxes
declare -A took
step() {
    local name=$1 start=$SECONDS
    shift
    echo "=== $who: $name"
    "$@"
    took[$name]=$((SECONDS - start))
    echo "=== $who: $name took ${took[$name]}s"
}
step "npm ci" npm ci --no-audit --no-fund
# Both in one command: their builds run side by side (one per CPU), as the matrix's do.
step "build basic,container" npx boxes build --profile basic,container --source-date-epoch "$epoch" --output-dir "$out"
if [ "$boot" = 1 ]; then
    # One UEFI boot with every check but the comparison of two boots' identities (the VM suite's);
    # beside the integration suites it shares the CPUs with theirs: more than the default time.
    step "test basic (uefi)" npx boxes test --profile basic --firmware uefi --check -first-boot-identity --timeout 30 --output-dir "$out"
fi
step "audit basic" npx boxes audit "$out"/*-basic-*.qcow2
step "audit container" npx boxes audit "$out"/*-container-*.tar
step "setup --check" npx boxes setup --check
{
    printf '{"who":"%s","seconds":{' "$who"
    first=1
    for k in "${!took[@]}"; do
        [ $first = 1 ] || printf ','
        first=0
        printf '"%s":%s' "$k" "${took[$k]}"
    done
    printf '},"sha256":{'
    first=1
    for f in "$out"/*.qcow2 "$out"/*.tar; do
        [ $first = 1 ] || printf ','
        first=0
        printf '"%s":"%s"' "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
    printf '}}\n'
} >"$out/summary.json"
EOF
chmod 0755 "$root/run-checks"

# One namespace per run: its own /proc (a PID namespace), /dev, /tmp and /run, the fresh root as its
# root; the host's network.
enter() { # WHO BOOT
    local site=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8)
    local as=(env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "${site[@]}")
    [ "$1" = builder ] && as=(runuser -u builder -- env -i HOME=/home/builder PATH=/usr/local/bin:/usr/bin:/bin "${site[@]}")
    # shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
    unshare --mount --pid --uts --fork --kill-child -- /bin/sh -euc '
        root=$1 who=$2; shift 2
        hostname fresh-machine
        # A machine'"'"'s / is a mount point (mkosi'"'"'s sandbox changes its propagation).
        mount --bind "$root" "$root"
        mount -t proc proc "$root/proc"
        mount -t sysfs -o ro sysfs "$root/sys" 2>/dev/null || mount --rbind -o ro /sys "$root/sys"
        mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
        for n in null zero full random urandom tty; do touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"; done
        mkdir "$root/dev/pts" "$root/dev/shm"
        mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
        ln -s pts/ptmx "$root/dev/ptmx"
        mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        mount -t tmpfs -o mode=0755 tmpfs "$root/run"
        # pivot_root, not chroot: a chrooted process may not create user namespaces (unshare(2)),
        # and rootless builds do.
        cd "$root"
        old=".old-root-$who"
        mkdir "$old"
        pivot_root . "$old"
        # The fresh root has no umount (mount is not essential since bookworm); its Python detaches.
        python3 -c "import ctypes, sys; sys.exit(ctypes.CDLL(None).umount2(sys.argv[1].encode(), 2))" "/$old"
        rmdir "/$old"
        cd /
        exec "$@"
    ' sh "$root" "$1" "${as[@]}" /run-checks "$1" "/out/$1" "$epoch" "$2"
}

# Root and the user side by side, as two people on one machine: their caches share nothing, and
# their builds wait on downloads and disks at different times.
# One boot, the user's: a second VM beside it would only starve both under TCG.
enter root "$((boot && !user))" >"$work/root.log" 2>&1 &
pids=("$!")
if [ "$user" = 1 ]; then
    enter builder "$boot" >"$work/builder.log" 2>&1 &
    pids+=("$!")
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
cat "$work/root.log"
[ "$user" = 1 ] && cat "$work/builder.log"
if [ "$failed" = 1 ]; then
    echo "fresh-machine.sh: a run inside the fresh machine failed (its log is above)" >&2
    exit 1
fi

sha256sum "$root/var/lib/dpkg/status" >"$work/dpkg-status.after"
if ! cmp -s <(cut -d' ' -f1 "$work/dpkg-status.before") <(cut -d' ' -f1 "$work/dpkg-status.after"); then
    echo "fresh-machine.sh: the fresh root's package set changed: something installed packages" >&2
    exit 1
fi
{
    printf '['
    cat "$root/out/root/summary.json"
    [ "$user" = 1 ] && { printf ','; cat "$root/out/builder/summary.json"; }
    printf ']\n'
} >"$work/summary.json"
cat "$work/summary.json"
