/**
 * `boxes audit`: opens an artifact of any kind without booting it (OCI archive, qcow2/raw disk,
 * Vagrant box) and checks the security invariants of src/audit/rules.ts.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.js';
import { unpackBoxDisk } from '../vagrant/box-file.js';
import { parseBoxName } from '../vagrant/box-name.js';
import { parseDiskName } from '../vm/artifact.js';
import { diskView } from './disk-view.js';
import { ociView } from './oci-view.js';
import { audit, type Finding } from './rules.js';

export type ArtifactKind = 'container' | 'disk' | 'box';

export interface AuditReport {
  artifact: string;
  kind: ArtifactKind;
  profile?: string;
  entries: number;
  findings: Finding[];
}

/** Tells the kind by the file's first bytes, not its name. */
export async function detectKind(path: string): Promise<{ kind: ArtifactKind; format?: string }> {
  const fh = await open(path, 'r').catch(() => {
    throw new UsageError(`cannot read ${path}`, 'pass the path of an artifact');
  });
  try {
    const head = Buffer.alloc(520);
    const { bytesRead } = await fh.read(head, 0, 520, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return { kind: 'disk', format: 'qcow2' };
    if (bytesRead >= 520 && head.subarray(512, 520).toString('latin1') === 'EFI PART') return { kind: 'disk', format: 'raw' };
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { kind: 'box' };
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return { kind: 'container' };
  } finally {
    await fh.close();
  }
  throw new UsageError(`${basename(path)} is of an unknown type`, 'boxes audit reads OCI archives (.tar), qcow2 or raw disks and Vagrant boxes');
}

export function profileOf(name: string): string | undefined {
  if (/-x86_64-container-[\w-]+-.+\.tar$/.test(name)) return 'container';
  return parseDiskName(name)?.profile ?? parseBoxName(name)?.profile;
}

export async function auditArtifact(path: string, io: { signal?: AbortSignal } = {}): Promise<AuditReport> {
  const { kind, format } = await detectKind(path);
  const profile = profileOf(basename(path));
  const work = await mkdtemp(join(tmpdir(), 'boxes-audit-'));
  try {
    let view;
    if (kind === 'container') view = await ociView(path);
    else if (kind === 'disk') view = await diskView(path, format!, work, io.signal);
    else {
      const disk = await unpackBoxDisk(path, work);
      view = await diskView(disk.path, disk.format, work, io.signal);
    }
    return { artifact: path, kind, profile, entries: view.entries.size, findings: audit(view, { profile }) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function formatAudit(r: AuditReport): string {
  const name = basename(r.artifact);
  if (r.findings.length === 0) return `${name}: clean (${r.entries} entries checked)`;
  return r.findings.map((f) => `${name}: ${f.rule}: ${f.path}: ${f.detail}`).join('\n');
}
