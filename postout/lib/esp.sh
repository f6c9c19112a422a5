# shellcheck shell=bash
# Sourced by the VM post-output hooks. systemd-repart fills the ESP with `mcopy -s`, which walks
# each directory in the order the build host's filesystem lists it: the same files land in other
# clusters and directory slots on tmpfs than on ext4, and the disk's bytes depend on where it was
# built. sort_esp rebuilds the ESP with the same geometry and its files added in sorted order.

# RAW: rewrites the ESP inside the raw disk RAW in place.
sort_esp() {
    local raw=$1 start size work volid label bps path
    # partx counts 512-byte sectors in image files.
    read -r start size < <(partx -g -o START,SECTORS,TYPE "$raw" 2>/dev/null |
        awk '$3 == "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" { print $1 * 512, $2 * 512 }') || true
    if [ -z "${start:-}" ]; then
        echo "sort_esp: $raw has no ESP; nothing to sort"
        return 0
    fi
    work=$(mktemp -d "${OUTPUTDIR:?}/.esp.XXXXXX")
    dd if="$raw" of="$work/old" bs=1M iflag=skip_bytes,count_bytes skip="$start" \
        count="$size" conv=sparse status=none
    bps=$(od -A n -t u2 -j 11 -N 2 "$work/old" | tr -d ' ')
    volid=$(od -A n -t x4 -j 67 -N 4 "$work/old" | tr -d ' ')
    label=$(dd if="$work/old" bs=1 skip=71 count=11 status=none | sed 's/ *$//')
    mkdir "$work/files"
    mcopy -s -p -m -n -i "$work/old" '::/*' "$work/files/"
    truncate -s "$size" "$work/new"
    mkfs.vfat -i "$volid" -n "$label" -F 32 -S "$bps" "$work/new" >/dev/null
    # Another geometry would be another filesystem than the one systemd-repart made.
    if ! cmp -s -n 90 "$work/old" "$work/new"; then
        echo "sort_esp: mkfs.vfat made another ESP geometry than systemd-repart did" >&2
        rm -rf "$work"
        return 1
    fi
    while IFS= read -r path; do
        if [ -d "$work/files/$path" ]; then
            mmd -i "$work/new" "::/$path"
        else
            mcopy -p -m -i "$work/new" "$work/files/$path" "::/$path"
        fi
    done < <(cd "$work/files" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort)
    dd if="$work/new" of="$raw" bs=1M oflag=seek_bytes seek="$start" conv=notrunc,sparse status=none
    rm -rf "$work"
}
