/**
 * The build record beside an artifact (`<artifact>.manifest.json`): how every reader learns what an
 * artifact is. A file's name is never parsed for it.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { companions, describeArtifact, type Artifact } from '../artifact/artifact.js';
import { ifMissing } from '../system/expected.js';
import { readRecord } from './read-record.js';
import type { BuildRecord } from './schema.js';

/** The artifact a record describes, identity and file names. */
export function recordedArtifact(record: BuildRecord): Artifact {
  const i = record.image;
  return describeArtifact({
    distribution: i.distribution,
    release: i.release,
    architecture: i.architecture,
    profile: i.profile,
    variant: i.variant ?? undefined,
    version: i.buildVersion,
  });
}

/** The record of the file at `path`; undefined when there is none or it describes another file. */
export async function recordBeside(path: string): Promise<BuildRecord | undefined> {
  const file = join(dirname(path), companions(basename(path)).record);
  const s = await stat(file).catch(ifMissing(undefined));
  if (!s?.isFile()) return undefined;
  const record = await readRecord(file);
  return record.artifact.name === basename(path) ? record : undefined;
}

/** Every artifact in `dir` that has its record beside it, with that record. */
export async function recordedArtifactsIn(dir: string): Promise<{ path: string; record: BuildRecord }[]> {
  const names = await readdir(dir).catch(ifMissing([] as string[]));
  const found: { path: string; record: BuildRecord }[] = [];
  for (const name of names) {
    if (!name.endsWith('.manifest.json')) continue;
    const record = await readRecord(join(dir, name));
    const path = join(dir, record.artifact.name);
    if (companions(record.artifact.name).record !== name) continue;
    const s = await stat(path).catch(ifMissing(undefined));
    if (s?.isFile()) found.push({ path, record });
  }
  return found;
}
