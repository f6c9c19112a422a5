#!/bin/bash
# Post-output hook of vagrant-virtualbox: the raw disk becomes a streamOptimized VMDK described by
# box.ovf, in a Vagrant box with metadata.json and a Vagrantfile, packed reproducibly. The machine
# UUID, disk UUID, MAC and the VMDK's CID derive from Seed=, never from the clock or chance.
set -euo pipefail
# shellcheck source=postout/lib/common.sh
. "${SRCDIR:?}/postout/lib/common.sh"
# shellcheck source=postout/lib/vmdk.sh
. "$SRCDIR/postout/lib/vmdk.sh"

begin_box

case $(cfg .Distribution) in
    arch) ostype=ArchLinux_64 osid=100 name=archlinux ;;
    debian) ostype=Debian_64 osid=96 name=debian ;;
    *) echo "no VirtualBox OS type for $(cfg .Distribution)" >&2; exit 1 ;;
esac
# VirtualBox compares the DiskSection's vbox:uuid with the machine's <Image uuid> as a string:
# both lowercase, no braces.
disk_uuid=$(seed_uuid virtualbox-disk)
machine_uuid=$(seed_uuid virtualbox-machine)
mac=080027$(seed_hex virtualbox-mac | cut -c1-6)
capacity=$(stat -c %s "$raw")
changed=$(date -u -d "@$(cfg .SourceDateEpoch)" +%Y-%m-%dT%H:%M:%SZ)

# qemu-img writes the file name into the descriptor: convert under the name the OVF uses.
(cd "$work" && qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$raw" box-disk001.vmdk)
set_vmdk_cid "$work/box-disk001.vmdk" "$(seed_hex virtualbox-cid | cut -c1-8)"

cat >"$work/box.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="box-disk001.vmdk"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="$capacity" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" vbox:uuid="$disk_uuid"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="NAT">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="$name">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="$osid">
      <Info>The kind of installed guest operating system</Info>
      <Description>$ostype</Description>
      <vbox:OSType ovf:required="false">$ostype</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>$name</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>2 virtual CPU</rasd:Caption>
        <rasd:Description>Number of virtual CPUs</rasd:Description>
        <rasd:ElementName>2 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>1024 MB of memory</rasd:Caption>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>1024 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:Description>SATA Controller</rasd:Description>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:Description>Disk Image</rasd:Description>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{$machine_uuid}" name="$name" OSType="$ostype" snapshotFolder="Snapshots" lastStateChange="$changed">
      <ovf:Info>Complete VirtualBox machine configuration in VirtualBox format</ovf:Info>
      <Hardware>
        <CPU count="2">
          <PAE enabled="true"/>
          <LongMode enabled="true"/>
        </CPU>
        <Memory RAMSize="1024"/>
        <Network>
          <Adapter slot="0" enabled="true" MACAddress="$mac" cable="true" type="82540EM">
            <NAT/>
          </Adapter>
        </Network>
      </Hardware>
      <StorageControllers>
        <StorageController name="SATA Controller" type="AHCI" PortCount="1" useHostIOCache="false" Bootable="true">
          <AttachedDevice type="HardDisk" hotpluggable="false" port="0" device="0">
            <Image uuid="{$disk_uuid}"/>
          </AttachedDevice>
        </StorageController>
      </StorageControllers>
    </vbox:Machine>
  </VirtualSystem>
</Envelope>
OVF
printf '{"provider":"virtualbox"}\n' >"$work/metadata.json"
cat >"$work/Vagrantfile" <<VAGRANTFILE
Vagrant.configure("2") do |config|
  # Vagrant gives the NAT adapter this MAC, the one box.ovf names.
  config.vm.base_mac = "$mac"
  config.vm.provider :virtualbox do |vb|
    vb.memory = 1024
    vb.cpus = 2
  end
end
VAGRANTFILE
finish_box
