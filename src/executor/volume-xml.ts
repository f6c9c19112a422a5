/**
 * The job's overlay volume: qcow2 backed by the image. Described as XML because `virsh
 * vol-create-as --backing-vol` takes only volumes libvirt already knows, and the image may be a
 * plain file outside every pool.
 */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface OverlaySpec {
  name: string;
  capacityBytes: number;
  backingPath: string;
  backingFormat: string;
}

export function overlayVolumeXml(v: OverlaySpec): string {
  return [
    '<volume>',
    `  <name>${esc(v.name)}</name>`,
    `  <capacity unit='bytes'>${v.capacityBytes}</capacity>`,
    "  <target><format type='qcow2'/></target>",
    '  <backingStore>',
    `    <path>${esc(v.backingPath)}</path>`,
    `    <format type='${esc(v.backingFormat)}'/>`,
    '  </backingStore>',
    '</volume>',
    '',
  ].join('\n');
}
