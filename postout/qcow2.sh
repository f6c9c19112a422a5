#!/bin/bash
# Post-output hook of the VM profiles: the raw disk becomes the published compressed qcow2 (plus
# its .SHA256), named like arch-boxes' images; the raw disk does not stay in the output directory.
set -euo pipefail
# shellcheck source=postout/lib/common.sh
. "${SRCDIR:?}/postout/lib/common.sh"

out=${OUTPUTDIR:?}
raw=$out/$(cfg .Output).raw
artifact=$(artifact_name)

sort_esp "$raw"
# In-order, single-writer conversion: the compressed clusters land in the same places every time.
qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib "$raw" "$out/.$artifact.tmp"
mv "$out/.$artifact.tmp" "$out/$artifact"
drop_raw_disk "$raw"
(cd "$out" && sha256sum "$artifact" >"$artifact.SHA256")
echo "Wrote $artifact"
