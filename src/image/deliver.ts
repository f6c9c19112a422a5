/**
 * The last step of every artifact's build: audit it, sign it if asked, then move its record, SBOM,
 * checksum and signature, and last the artifact itself, from staging into the output directory.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { auditArtifact } from '../audit/audit-artifact.js';
import { AuditFailed } from '../audit/audit-failed.js';
import { BuildError, UsageError } from '../system/errors.js';
import { signFile } from '../adapters/gpg-sign.js';
import type { Artifact } from '../artifact/artifact.js';
import type { Toolbox } from '../system/toolbox.js';

export interface Delivery {
  staging: string;
  outputDir: string;
  artifact: Artifact;
  /** mkosi's log, named when the artifact is broken. */
  logFile: string;
  sign?: string;
  /** Reads disks for the audit: the build's own tools tree. */
  tools: Toolbox;
  signal?: AbortSignal;
}

export async function deliver(p: Delivery): Promise<{ signature?: string }> {
  const { name, files } = p.artifact;
  const built = join(p.staging, name);
  // Findings keep the artifact in staging, which the build removes: it is never published.
  const audited = await auditArtifact(built, { tools: p.tools, signal: p.signal, scratch: p.staging }).catch((error: unknown) => {
    if (error instanceof UsageError)
      throw new BuildError(`the built ${name} cannot be audited: ${error.message}`, `the post-output hook wrote a broken artifact; see ${p.logFile}`);
    throw error;
  });
  const n = audited.findings.length;
  if (n > 0)
    throw new AuditFailed(
      `${name} breaks ${n} security rule${n > 1 ? 's' : ''}: ${audited.findings.map((f) => `${f.rule} ${f.path}`).join(', ')}`,
      'the image tree must not ship these; see `boxes audit` in the README',
    );
  if (p.sign) await signFile(p.sign, built, p.signal);
  // A reader never sees an artifact without its record, SBOM, checksum and signature.
  const sides = [files.record, files.sbom, files.checksum, ...(p.sign ? [files.signature] : [])];
  for (const side of sides) await rename(join(p.staging, side), join(p.outputDir, side));
  await rename(built, join(p.outputDir, name));
  return { signature: p.sign ? join(p.outputDir, files.signature) : undefined };
}
