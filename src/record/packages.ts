/** Package lists: the image's from mkosi's JSON manifest, the tools tree's from dpkg's status file. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageEntry } from './schema.js';
import { ifMissing } from '../system/expected.js';
import { parseJson } from '../system/expected.js';
import { BuildError } from '../system/errors.js';
import { z } from 'zod';

const byName = (a: PackageEntry, b: PackageEntry) => a.name.localeCompare(b.name) || a.architecture.localeCompare(b.architecture);

const manifestSchema = z.object({
  packages: z.array(z.object({ type: z.string().optional(), name: z.string().optional(), version: z.string().optional(), architecture: z.string().optional() })).optional(),
});

/** mkosi's `ManifestFormat=json` output: `{manifest_version: 1, packages: [...]}`. */
export function parseMkosiManifest(text: string): PackageEntry[] {
  const parsed = manifestSchema.safeParse(parseJson(text, (why) => new BuildError(`mkosi's package manifest is not JSON: ${why}`)));
  if (!parsed.success) throw new BuildError(`mkosi's package manifest lists packages boxes cannot read: ${parsed.error.issues[0]?.message ?? ''}`);
  return (parsed.data.packages ?? [])
    .map((p) => ({ type: p.type ?? 'unknown', name: p.name ?? '', version: p.version ?? '', architecture: p.architecture ?? '' }))
    .filter((p) => p.name)
    .sort(byName);
}

/** `name version` of every installed package in a dpkg status file, sorted. */
export function parseDpkgStatus(text: string): string[] {
  const installed: string[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    if (field('Status')?.endsWith(' installed') && field('Package')) installed.push(`${field('Package')} ${field('Version') ?? ''}`.trim());
  }
  return installed.sort();
}

export async function toolsTreePackages(toolsTree: string): Promise<string[]> {
  const status = await readFile(join(toolsTree, 'var/lib/dpkg/status'), 'utf8').catch(ifMissing(undefined));
  return status ? parseDpkgStatus(status) : [];
}

/** The tools tree's distribution and release, from its own os-release (ID, VERSION_CODENAME). */
export async function toolsTreeIdentity(toolsTree: string): Promise<{ distribution: string | null; release: string | null }> {
  const text =
    (await readFile(join(toolsTree, 'usr/lib/os-release'), 'utf8').catch(ifMissing(''))) || (await readFile(join(toolsTree, 'etc/os-release'), 'utf8').catch(ifMissing('')));
  const field = (name: string) => new RegExp(`^${name}=("?)([^"\n]*)\\1$`, 'm').exec(text)?.[2] || null;
  return { distribution: field('ID'), release: field('VERSION_CODENAME') };
}
