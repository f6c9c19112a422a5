#!/bin/bash
# Post-output hook of vagrant-libvirt: the raw disk becomes box.img (qcow2) in a Vagrant box with
# metadata.json and a Vagrantfile, packed reproducibly.
set -euo pipefail
# shellcheck source=postout/lib/common.sh
. "${SRCDIR:?}/postout/lib/common.sh"

begin_box

# Uncompressed: vagrant-libvirt uploads box.img as the base volume of every machine; the box's
# gzip layer does the compressing.
qemu-img convert -f raw -O qcow2 "$raw" "$work/box.img"
size=$(gib_rounded_up "$(stat -c %s "$raw")")
printf '{"format":"qcow2","provider":"libvirt","virtual_size":%d}\n' "$size" >"$work/metadata.json"
cat >"$work/Vagrantfile" <<'VAGRANTFILE'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "kvm"
    libvirt.memory = 1024
    libvirt.cpus = 2
  end
end
VAGRANTFILE
finish_box
