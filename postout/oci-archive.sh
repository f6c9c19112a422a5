#!/bin/bash
# Post-output hook: turn the container profile's directory tree into one OCI archive that
# `podman load`, `docker load` and `skopeo ... oci-archive:` accept. Every byte derives from the
# tree and $MKOSI_CONFIG, so equal inputs give an equal archive.
set -euo pipefail

cfg() { jq -r "$1" "$MKOSI_CONFIG"; }
out=${OUTPUTDIR:?}
tree=$out/$(cfg .Output)
epoch=$(cfg '.SourceDateEpoch // empty')
version=$(cfg '.ImageVersion // empty')
: "${epoch:?SourceDateEpoch= must be set}" "${version:?ImageVersion= must be set}"
# Names come from boxes' description of the artifact (src/artifact/artifact.ts).
plain='is set by boxes build; with plain mkosi use the command boxes build --dry-run prints'
artifact=${BOXES_ARTIFACT:?$plain}
name=${BOXES_IMAGE_NAME:?$plain}
variant=${BOXES_IMAGE_VARIANT:?$plain}
IFS=, read -r -a tags <<<"${BOXES_IMAGE_TAGS:?$plain}"
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

work=$(mktemp -d "$out/.oci.XXXXXX")
trap 'rm -rf "$work" "$work.tar"' EXIT
blobs=$work/blobs/sha256
mkdir -p "$blobs"

# The diff_id (the uncompressed layer's digest) is summed on the way, on another core.
mkfifo "$work/layer.fifo"
sha256sum <"$work/layer.fifo" >"$work/diff_id" &
summer=$!
# Deterministic tar: sorted names, numeric owners, clamped mtimes, no atime/ctime records,
# and PAX header names without the PID that GNU tar puts there by default.
# gzip's default level: -9 saved 0.4 % of the Debian base layer and took three times as long.
tar --create --file=- --directory="$tree" --format=posix --sort=name --numeric-owner \
    --mtime="@$epoch" --clamp-mtime --xattrs --xattrs-include=security.capability \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime,delete=mtime \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* --exclude=./run/* --exclude=./tmp/* \
    . | tee "$work/layer.fifo" | gzip -n -6 >"$work/layer.tar.gz"
wait "$summer"
diff_id=$(cut -d' ' -f1 "$work/diff_id")
rm "$work/layer.fifo" "$work/diff_id"

blob() { # FILE -> moves it into blobs/, prints its digest and size
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$blobs/$d"
    echo "$d $s"
}
read -r layer layer_size < <(blob "$work/layer.tar.gz")

if [ "$(cfg .Distribution)" = arch ]; then path=/usr/local/sbin:/usr/local/bin:/usr/bin
else path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; fi

jq -n -S -c --arg created "$created" --arg diff "sha256:$diff_id" --arg path "PATH=$path" \
    --arg arch "${BOXES_OCI_ARCHITECTURE:?$plain}" --arg title "${BOXES_TITLE:-$name} container ($variant)" --arg version "$version" \
    --arg revision "${BOXES_REVISION:-unknown}" --arg source "${BOXES_SOURCE:-}" \
    --arg licenses "${BOXES_LICENSES:-}" --arg url "${BOXES_URL:-}" \
    --arg doc "${BOXES_DOCUMENTATION:-}" '{
  architecture: $arch, os: "linux", created: $created,
  config: {
    Env: [$path, "LANG=C.UTF-8"], Cmd: ["/usr/bin/bash"],
    Labels: {
      "org.opencontainers.image.title": $title,
      "org.opencontainers.image.description": ($title + " image built reproducibly with mkosi and boxes"),
      "org.opencontainers.image.version": $version, "org.opencontainers.image.revision": $revision,
      "org.opencontainers.image.created": $created, "org.opencontainers.image.source": $source,
      "org.opencontainers.image.licenses": $licenses, "org.opencontainers.image.url": $url,
      "org.opencontainers.image.documentation": $doc }},
  rootfs: { type: "layers", diff_ids: [$diff] },
  history: [{ created: $created, created_by: "boxes build --profile container" }]
}' >"$work/config.json"
read -r config config_size < <(blob "$work/config.json")

jq -n -S -c --arg c "sha256:$config" --argjson cs "$config_size" --arg l "sha256:$layer" \
    --argjson ls "$layer_size" '{
  schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls }]
}' >"$work/manifest"
read -r manifest manifest_size < <(blob "$work/manifest")

jq -n -S -c --arg m "sha256:$manifest" --argjson ms "$manifest_size" --arg name "$name" \
    --args '
  def desc($ref): { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
    annotations: { "org.opencontainers.image.ref.name": $ref,
                   "io.containerd.image.name": ("docker.io/library/" + $name + ":" + $ref) } };
  { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [$ARGS.positional[] | desc(.)] }' "${tags[@]}" >"$work/index.json"
# docker load reads manifest.json; podman and skopeo read index.json.
jq -n -c --arg c "blobs/sha256/$config" --arg l "blobs/sha256/$layer" --arg name "$name" \
    --args '[{ Config: $c, RepoTags: [$ARGS.positional[] | $name + ":" + .], Layers: [$l] }]' \
    "${tags[@]}" >"$work/manifest.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

find "$work" -exec touch -h -d "@$epoch" {} +
tar --create --file="$work.tar" --directory="$work" --format=ustar --sort=name --numeric-owner \
    --owner=0 --group=0 --mode=u+rw,go+r,go-w --mtime="@$epoch" \
    oci-layout index.json manifest.json blobs
mv "$work.tar" "$out/$artifact"
(cd "$out" && sha256sum "$artifact" >"$artifact.SHA256")
echo "sha256:$manifest" >"$out/$artifact.digest"
echo "Wrote $artifact (manifest sha256:$manifest)"
