/**
 * `boxes audit`: opens an artifact of any kind without booting it (OCI archive, qcow2/raw disk,
 * Vagrant box) and checks the security invariants of src/audit/rules.ts.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { sniffFormat } from '../system/file-format.js';
import { unpackBoxDisk } from '../vagrant/box-file.js';
import { recordBeside } from '../record/beside.js';
import { sha256File } from '../system/sha256.js';
import type { Toolbox } from '../system/toolbox.js';
import { diskView } from './disk-view.js';
import { ociViews } from './oci-view.js';
import { ALLOWED_PASSWORDS, audit, auditLayered, type Finding } from './rules.js';

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
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'EACCES') throw new UsageError(`cannot read ${path}: ${error.code}`, 'check the path');
    throw error;
  });
  if (!info.isFile()) throw new UsageError(`${path} is not a file`, 'boxes audit reads artifact files: OCI archives (.tar), qcow2 or raw disks and Vagrant boxes');
  const format = await sniffFormat(path);
  if (format === 'qcow2' || format === 'raw') return { kind: 'disk', format };
  if (format === 'gzip') return { kind: 'box' };
  if (format === 'tar') return { kind: 'container' };
  throw new UsageError(`${basename(path)} is of an unknown type`, 'boxes audit reads OCI archives (.tar), qcow2 or raw disks and Vagrant boxes');
}

/**
 * The profile the artifact's build record (`<artifact>.manifest.json` beside it) names, which
 * decides the rules' exceptions. No record, or a record of other bytes: no exceptions at all. A
 * record that grants exceptions is believed only for the bytes it names (sha256 checked).
 */
export async function recordedProfile(path: string): Promise<string | undefined> {
  const record = await recordBeside(path);
  if (!record) return undefined;
  if (!ALLOWED_PASSWORDS[record.image.profile]) return record.image.profile;
  return (await sha256File(path)) === record.artifact.sha256 ? record.image.profile : undefined;
}

/** `io.scratch`: where the sparse copy of a disk goes (a build passes its staging directory); `io.tools` reads disks. */
export async function auditArtifact(path: string, io: { tools: Toolbox; signal?: AbortSignal; scratch?: string }): Promise<AuditReport> {
  const { kind, format } = await detectKind(path);
  const profile = await recordedProfile(path);
  if (kind === 'container') {
    const views = await ociViews(path);
    const entries = views.layers.reduce((n, v) => n + v.entries.size, 0);
    return { artifact: path, kind, profile, entries, findings: auditLayered(views.layers, views.images, { profile }) };
  }
  const work = await mkdtemp(join(io.scratch ?? tmpdir(), 'boxes-audit-'));
  try {
    let view;
    if (kind === 'disk') view = await diskView(path, format!, work, io.tools, io.signal);
    else {
      const disk = await unpackBoxDisk(path, work);
      view = await diskView(disk.path, disk.format, work, io.tools, io.signal);
    }
    return { artifact: path, kind, profile, entries: view.entries.size, findings: audit(view, { profile }) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function formatAudit(r: AuditReport): string {
  const name = basename(r.artifact);
  if (r.findings.length === 0) return `${name}: clean (${r.entries} entries checked)`;
  return r.findings.map((f) => `${name}: ${f.rule}: ${f.path}: ${f.detail}${f.layer ? ` (${f.layer})` : ''}`).join('\n');
}
