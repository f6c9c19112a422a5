#!/bin/bash
# Post-output hook of the VM profiles: the raw disk becomes the published compressed qcow2 (plus
# its .SHA256), named like arch-boxes' images; the raw disk does not stay in the output directory.
set -euo pipefail
# shellcheck source=postout/lib/common.sh
. "${SRCDIR:?}/postout/lib/common.sh"

out=${OUTPUTDIR:?}
raw=$out/$(cfg .Output).raw
artifact=$(artifact_name)

compression=${BOXES_QCOW2_COMPRESSION:?is set by boxes build; with plain mkosi use the command boxes build --dry-run prints}
case $compression in
    zlib | zstd) ;;
    *) echo "qcow2.sh: unknown compression '$compression' (zlib or zstd)" >&2; exit 1 ;;
esac

sort_esp "$raw"
# In-order, single-writer conversion: the compressed clusters land in the same places every time.
qemu-img convert -f raw -O qcow2 -c -o "compression_type=$compression" "$raw" "$out/.$artifact.tmp"
mv "$out/.$artifact.tmp" "$out/$artifact"
drop_raw_disk "$raw"
(cd "$out" && sha256sum "$artifact" >"$artifact.SHA256")
echo "Wrote $artifact"
