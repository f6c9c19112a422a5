/** Which image `boxes test` boots: the --artifact given, or the newest of the profile in the output directory. */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PROFILES, type Distribution, type ProfileSpec } from '../artifact/profiles.js';
import { UsageError } from '../system/errors.js';
import { sniffFormat } from '../system/file-format.js';
import { ifMissing } from '../system/expected.js';
import { recordBeside, recordedArtifactsIn } from '../record/beside.js';

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

export async function chooseArtifact(spec: ProfileSpec, artifact: string | undefined, outputDir: string): Promise<ChosenArtifact> {
  if (spec.kind === 'container') {
    const bootable = PROFILES.filter((p) => p.kind !== 'container')
      .map((p) => p.name)
      .join(', ');
    throw new UsageError(`boxes test boots disk images and Vagrant boxes; ${spec.name} is neither`, `use one of: ${bootable}`);
  }
  let path: string;
  if (artifact) {
    path = resolve(artifact);
    const s = await stat(path).catch(ifMissing(undefined));
    if (!s?.isFile()) throw new UsageError(`${artifact} does not exist or is not a file`, 'pass the path of a built image');
  } else {
    // The newest build of the profile, by the records in the directory.
    const dir = resolve(outputDir);
    const mine = (await recordedArtifactsIn(dir))
      .filter((a) => a.record.image.profile === spec.name)
      .sort((a, b) => a.record.image.sourceDateEpoch - b.record.image.sourceDateEpoch || a.record.image.buildVersion.localeCompare(b.record.image.buildVersion));
    if (mine.length === 0) throw new UsageError(`no ${spec.name} image in ${dir}`, `build one with \`boxes build --profile ${spec.name}\` or pass --artifact`);
    path = mine.at(-1)!.path;
  }
  // Without a record beside it, the image is what --profile and --distribution say.
  const record = await recordBeside(path);
  const parsed = record?.image;
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
