/** Which image `boxes test` boots: the --artifact given, or the newest of the profile in the output directory. */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { PROFILES, type Distribution, type ProfileSpec } from '../artifact/profiles.js';
import { UsageError } from '../system/errors.js';
import { DISK_KIND, PREFIX_PATTERN } from '../artifact/naming.js';
import { sniffFormat } from '../system/file-format.js';
import { parseBoxName } from '../vagrant/box-name.js';
import { ifMissing } from '../system/expected.js';

const KINDS = Object.values(DISK_KIND).join('|');
const DISK_NAME = new RegExp(`^${PREFIX_PATTERN}-x86_64-(${KINDS})-(.+)\\.(qcow2|raw)$`);

/** Parses `<Prefix>-x86_64-<kind>-<version>.(qcow2|raw)`; undefined for other names. */
export function parseDiskName(name: string): { distribution: Distribution; profile: string; version: string } | undefined {
  const m = DISK_NAME.exec(name);
  if (!m) return undefined;
  const profile = Object.keys(DISK_KIND).find((p) => DISK_KIND[p] === m[2])!;
  return { distribution: m[1] === 'Arch-Linux' ? 'arch' : 'debian', profile, version: m[3]! };
}

/** qcow2 or a raw GPT disk, by the first sector; undefined for anything else. */
export async function diskFormat(path: string): Promise<'qcow2' | 'raw' | undefined> {
  const format = await sniffFormat(path);
  return format === 'qcow2' || format === 'raw' ? format : undefined;
}

export interface ChosenArtifact {
  path: string;
  /** `box`: a Vagrant box, whose disk is unpacked before booting. */
  format: 'qcow2' | 'raw' | 'box';
  distribution?: Distribution;
}

/** Parses disk image and Vagrant box names alike. */
function parseName(name: string): { distribution: Distribution; profile: string } | undefined {
  return parseDiskName(name) ?? parseBoxName(name);
}

export async function chooseArtifact(spec: ProfileSpec, artifact: string | undefined, outputDir: string): Promise<ChosenArtifact> {
  if (spec.kind === 'container') {
    const bootable = PROFILES.filter((p) => p.kind !== 'container')
      .map((p) => p.name)
      .join(', ');
    throw new UsageError(`boxes test boots disk images and Vagrant boxes; ${spec.name} is neither`, `use one of: ${bootable}`);
  }
  const suffix = spec.kind === 'box' ? '.box' : '.qcow2';
  let path: string;
  if (artifact) {
    path = resolve(artifact);
    const s = await stat(path).catch(ifMissing(undefined));
    if (!s?.isFile()) throw new UsageError(`${artifact} does not exist or is not a file`, 'pass the path of a built image');
  } else {
    const dir = resolve(outputDir);
    const names = await readdir(dir).catch(ifMissing([] as string[]));
    const mine = names.filter((n) => parseName(n)?.profile === spec.name && n.endsWith(suffix)).sort();
    if (mine.length === 0) throw new UsageError(`no ${spec.name} image in ${dir}`, `build one with \`boxes build --profile ${spec.name}\` or pass --artifact`);
    path = join(dir, mine.at(-1)!);
  }
  const parsed = parseName(basename(path));
  if (parsed && parsed.profile !== spec.name)
    throw new UsageError(`${basename(path)} is a ${parsed.profile} image, not ${spec.name}`, `run \`boxes test --profile ${parsed.profile}\``);
  if (spec.kind === 'box') {
    if ((await sniffFormat(path)) !== 'gzip')
      throw new UsageError(`${basename(path)} is not a Vagrant box (not a gzipped tar)`, `pass a .box built by \`boxes build --profile ${spec.name}\``);
    return { path, format: 'box', distribution: parsed?.distribution };
  }
  const format = await diskFormat(path);
  if (!format) throw new UsageError(`${basename(path)} is not a qcow2 or raw disk image`, 'pass a .qcow2 built by boxes');
  return { path, format, distribution: parsed?.distribution };
}
