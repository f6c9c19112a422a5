/**
 * `boxes audit`: opens an artifact of any kind without booting it (OCI archive, qcow2/raw disk,
 * Vagrant box) and checks the security invariants of src/audit/rules.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { sniffFormat } from '../system/file-format.js';
import { PREFIX_PATTERN } from '../build/naming.js';
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
  const format = await sniffFormat(path);
  if (format === 'qcow2' || format === 'raw') return { kind: 'disk', format };
  if (format === 'gzip') return { kind: 'box' };
  if (format === 'tar') return { kind: 'container' };
  throw new UsageError(`${basename(path)} is of an unknown type`, 'boxes audit reads OCI archives (.tar), qcow2 or raw disks and Vagrant boxes');
}

export function profileOf(name: string): string | undefined {
  if (new RegExp(`^${PREFIX_PATTERN}-x86_64-container-[\\w-]+-.+\\.tar$`).test(name)) return 'container';
  return parseDiskName(name)?.profile ?? parseBoxName(name)?.profile;
}

/** `io.scratch`: where the sparse copy of a disk goes (a build passes its staging directory). */
export async function auditArtifact(path: string, io: { signal?: AbortSignal; scratch?: string } = {}): Promise<AuditReport> {
  const { kind, format } = await detectKind(path);
  const profile = profileOf(basename(path));
  const work = await mkdtemp(join(io.scratch ?? tmpdir(), 'boxes-audit-'));
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
