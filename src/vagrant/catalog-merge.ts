/**
 * Adds newly published boxes to an existing Vagrant catalog without dropping any of its other
 * versions. A version/provider pair that is already there must keep its bytes: publishing other
 * bytes under a published version is refused.
 */
import { z } from 'zod';
import { PublishRefused, UsageError } from '../system/errors.js';
import { compareVersions, type VagrantCatalog } from './catalog-json.js';

const provider = z.looseObject({
  name: z.string(),
  url: z.string(),
  checksum_type: z.literal('sha256'),
  checksum: z.string(),
  architecture: z.literal('amd64'),
  default_architecture: z.literal(true),
});

const catalogSchema = z.looseObject({
  name: z.string(),
  description: z.string(),
  versions: z.array(z.looseObject({ version: z.string(), description: z.string().optional(), providers: z.array(provider) })),
});

export function parseCatalog(text: string, where: string): VagrantCatalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not JSON: ${(error as Error).message}`, 'move it away, or point --boxes elsewhere');
  }
  const r = catalogSchema.safeParse(json);
  if (!r.success) throw new UsageError(`${where} is not a Vagrant catalog: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data as VagrantCatalog;
}

export interface NewBox {
  version: string;
  provider: string;
  url: string;
  sha256: string;
  /** Published under --unverified: the version's description says so. */
  unverified: boolean;
}

export const UNVERIFIED = 'unverified: published without a second build that reproduced it';

export function mergeCatalog(existing: VagrantCatalog | undefined, name: string, description: string, boxes: NewBox[]): VagrantCatalog {
  if (existing && existing.name !== name)
    throw new UsageError(`the catalog there describes box ${existing.name}, not ${name}`, 'pass --box-name to match it, or publish elsewhere');
  const versions = structuredClone(existing?.versions ?? []);
  for (const box of boxes) {
    let version = versions.find((v) => v.version === box.version);
    if (!version) versions.push((version = { version: box.version, providers: [] }));
    if (box.unverified) version.description = UNVERIFIED;
    const entry = { name: box.provider, url: box.url, checksum_type: 'sha256' as const, checksum: box.sha256, architecture: 'amd64' as const, default_architecture: true as const };
    const twin = version.providers.find((p) => p.name === box.provider);
    if (twin && twin.checksum !== box.sha256)
      throw new PublishRefused(
        `version ${box.version} for ${box.provider} is already published with sha256 ${twin.checksum}; this box is ${box.sha256}`,
        'published versions never change: build with another --build-version',
      );
    if (twin) Object.assign(twin, entry);
    else version.providers.push(entry);
    version.providers.sort((a, b) => a.name.localeCompare(b.name));
  }
  versions.sort((a, b) => compareVersions(a.version, b.version));
  return { name, description: existing?.description ?? description, versions };
}
