# shellcheck shell=bash
# Sourced by the post-output hooks: mkosi's resolved config, the artifact boxes describes, seed-derived
# identifiers and deterministic box tarballs. Bytes derive from $MKOSI_CONFIG; names come from boxes.

# shellcheck source=postout/lib/esp.sh
. "${SRCDIR:?}/postout/lib/esp.sh"

cfg() { jq -r "$1" "${MKOSI_CONFIG:?}"; }

# The file to write: boxes names every artifact (src/artifact/artifact.ts) and passes the name.
artifact_name() {
    echo "${BOXES_ARTIFACT:?is set by boxes build; with plain mkosi use the command boxes build --dry-run prints}"
}

# LABEL -> 32 hex digits from Seed= and LABEL: the same seed gives the same identifiers.
seed_hex() {
    local seed
    seed=$(cfg '.Seed // empty')
    printf '%s/%s' "${seed:?Seed= must be set}" "$1" | sha256sum | cut -c1-32
}

# LABEL -> a UUID (RFC 9562 version 8, "custom": derived, not random).
seed_uuid() {
    local h v
    h=$(seed_hex "$1")
    v=$(printf '%x' $(((0x${h:16:1} & 3) | 8)))
    echo "${h:0:8}-${h:8:4}-8${h:13:3}-$v${h:17:3}-${h:20:12}"
}

# BYTES -> GiB, rounded up (Vagrant's virtual_size).
gib_rounded_up() { echo $((($1 + (1 << 30) - 1) >> 30)); }

# Sets raw (mkosi's disk, its ESP sorted), artifact (the box's name) and work (a private
# directory for the box's files, removed on exit) for a Vagrant box hook.
begin_box() {
    raw=${OUTPUTDIR:?}/$(cfg .Output).raw
    sort_esp "$raw"
    artifact=$(artifact_name)
    work=$(mktemp -d "$OUTPUTDIR/.box.XXXXXX")
    trap 'rm -rf "$work"' EXIT
}

# Packs $work into $artifact and empties the raw disk.
finish_box() {
    pack_box "$work" "$artifact"
    drop_raw_disk "$raw"
    echo "Wrote $artifact"
}

# DIR ARTIFACT: DIR's files as a gzipped tar $OUTPUTDIR/ARTIFACT, plus ARTIFACT.SHA256. Sorted
# members, owner 0, mode 0644, mtime SOURCE_DATE_EPOCH, no atime/ctime records, no gzip name/time.
pack_box() {
    local dir=$1 artifact=$2 out=${OUTPUTDIR:?} epoch members
    epoch=$(cfg '.SourceDateEpoch // empty')
    mapfile -t members < <(cd "$dir" && LC_ALL=C ls -A)
    tar --create --file=- --directory="$dir" --format=posix --numeric-owner --owner=0 --group=0 \
        --mode=0644 --mtime="@${epoch:?SourceDateEpoch= must be set}" \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -- "${members[@]}" | gzip -n -6 >"$out/.$artifact.tmp"
    mv "$out/.$artifact.tmp" "$out/$artifact"
    (cd "$out" && sha256sum "$artifact" >"$artifact.SHA256")
}

# mkosi stats its output after the hooks, so the raw disk stays as an empty placeholder.
drop_raw_disk() { : >"$1"; }
