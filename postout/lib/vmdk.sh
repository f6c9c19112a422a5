# shellcheck shell=bash
# VMDK CID: qemu-img writes a random content ID into the descriptor of every VMDK it creates;
# FILE HEX8 rewrites it, so equal disks give equal VMDKs. The descriptor lives uncompressed in the
# sectors the sparse extent header points at (descriptorOffset, descriptorSize; little-endian u64
# at bytes 28 and 36), padded with NULs.
set_vmdk_cid() {
    local file=$1 cid=$2 offset size desc
    [ "$(head -c 4 "$file")" = KDMV ] || { echo "$file: not a VMDK sparse extent" >&2; return 1; }
    [[ $cid =~ ^[0-9a-f]{8}$ ]] || { echo "CID must be 8 hex digits, not '$cid'" >&2; return 1; }
    offset=$(od -An -t u8 --endian=little -j 28 -N 8 "$file" | tr -d ' ')
    size=$(od -An -t u8 --endian=little -j 36 -N 8 "$file" | tr -d ' ')
    desc=$(mktemp)
    dd if="$file" bs=512 skip="$offset" count="$size" status=none | tr -d '\0' |
        sed -E "s/^CID=[0-9a-f]+\$/CID=$cid/" >"$desc"
    grep -qx "CID=$cid" "$desc" || { echo "$file: no CID in its descriptor" >&2; rm -f "$desc"; return 1; }
    truncate -s $((size * 512)) "$desc"
    dd if="$desc" of="$file" bs=512 seek="$offset" conv=notrunc status=none
    rm -f "$desc"
}
