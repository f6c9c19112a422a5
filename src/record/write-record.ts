/**
 * Writes `<artifact>.manifest.json` (the build record) and `<artifact>.spdx.json` (its SBOM) next to
 * a freshly built artifact in the staging directory, from mkosi's package manifest there.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { companions } from '../artifact/artifact.js';
import { BuildError } from '../system/errors.js';
import { boxesVersion } from '../system/paths.js';
import { ociFacts } from './oci-facts.js';
import { parseMkosiManifest, toolsTreeIdentity, toolsTreePackages } from './packages.js';
import { makeRecord, type RecordFacts } from './record.js';
import { spdxSbom } from './sbom.js';
import { stableJson } from './stable-json.js';
import type { BuildRecord } from './schema.js';

export const recordName = (artifact: string) => companions(artifact).record;
export const sbomName = (artifact: string) => companions(artifact).sbom;

export interface WriteRecordInput extends Omit<RecordFacts, 'toolVersion' | 'packages' | 'artifact' | 'toolsTree'> {
  staging: string;
  artifactName: string;
  sha256: string;
  toolsTreePath: string;
}

export async function writeRecord(input: WriteRecordInput): Promise<BuildRecord> {
  const { staging, artifactName: name } = input;
  const manifests = (await readdir(staging)).filter((n) => n.endsWith('.manifest'));
  if (manifests.length !== 1) throw new BuildError(`mkosi left ${manifests.length} package manifests for ${name}, not one`, 'mkosi.conf must keep ManifestFormat=json');
  const packages = parseMkosiManifest(await readFile(join(staging, manifests[0]!), 'utf8'));
  const path = join(staging, name);
  const oci = input.target.profile === 'container' ? await ociFacts(path) : undefined;
  const record = makeRecord({
    ...input,
    toolVersion: await boxesVersion(),
    toolsTree: { ...(await toolsTreeIdentity(input.toolsTreePath)), packages: await toolsTreePackages(input.toolsTreePath) },
    packages,
    artifact: { name, sha256: input.sha256, size: (await stat(path)).size, digest: oci?.digest, diffIds: oci?.diffIds },
  });
  await writeFile(join(staging, recordName(name)), stableJson(record));
  await writeFile(join(staging, sbomName(name)), stableJson(spdxSbom(record)));
  return record;
}
