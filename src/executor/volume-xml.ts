/**
 * The job's overlay volume: qcow2 backed by the image. Described as XML because `virsh
 * vol-create-as --backing-vol` takes only volumes libvirt already knows, and the image may be a
 * plain file outside every pool.
 */
import { escapeXml } from '../system/xml.js';

export interface OverlaySpec {
  name: string;
  capacityBytes: number;
  backingPath: string;
  backingFormat: string;
}

export function overlayVolumeXml(v: OverlaySpec): string {
  return [
    '<volume>',
    `  <name>${escapeXml(v.name)}</name>`,
    `  <capacity unit='bytes'>${v.capacityBytes}</capacity>`,
    "  <target><format type='qcow2'/></target>",
    '  <backingStore>',
    `    <path>${escapeXml(v.backingPath)}</path>`,
    `    <format type='${escapeXml(v.backingFormat)}'/>`,
    '  </backingStore>',
    '</volume>',
    '',
  ].join('\n');
}
