#!/bin/bash
# Post-output hook of the VM profiles: the raw disk becomes the published compressed qcow2 (plus
# its .SHA256), named like arch-boxes' images; the raw disk does not stay in the output directory.
set -euo pipefail

cfg() { jq -r "$1" "$MKOSI_CONFIG"; }
out=${OUTPUTDIR:?}
raw=$out/$(cfg .Output).raw
version=$(cfg '.ImageVersion // empty')
: "${version:?ImageVersion= must be set}"
kind=
for p in $(cfg '.Profiles[]'); do
    case $p in
        basic | libvirt-executor) kind=$p ;;
        cloud-init) kind=cloudimg ;;
    esac
done
: "${kind:?no VM profile among $(cfg '.Profiles | join(",")')}"
prefix=${BOXES_NAME_PREFIX:?}
if [ "$(cfg .Distribution)" = debian ]; then
    release=$(cfg .Release)
    case $release in
        bullseye) release=11 ;; bookworm) release=12 ;; trixie) release=13 ;;
        forky) release=14 ;; duke) release=15 ;;
    esac
    prefix=$prefix-$release
fi
artifact=$prefix-x86_64-$kind-$version.qcow2

# In-order, single-writer conversion: the compressed clusters land in the same places every time.
qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib "$raw" "$out/.$artifact.tmp"
mv "$out/.$artifact.tmp" "$out/$artifact"
# mkosi stats its output after the hooks, so the raw file stays as an empty placeholder.
: >"$raw"
(cd "$out" && sha256sum "$artifact" >"$artifact.SHA256")
echo "Wrote $artifact"
