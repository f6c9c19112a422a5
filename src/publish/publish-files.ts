/**
 * `--boxes`: disk images and Vagrant boxes with their sidecar files into a file target, then the
 * Vagrant catalog, merged with what is already published and written last, so a failure anywhere
 * before leaves the previous catalog as it was.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { companions } from '../artifact/artifact.js';
import { DISTRIBUTION_TITLE, findProfile } from '../artifact/profiles.js';
import { mergeCatalog, parseCatalog, type NewBox } from '../vagrant/catalog-merge.js';
import type { FileTarget } from './file-targets.js';
import type { Publishable } from './inventory.js';
import { ifMissing } from '../system/expected.js';

const SIDECARS = (name: string) => {
  const f = companions(name);
  return [f.checksum, f.signature, f.record, f.sbom, f.statement];
};

/** arch-boxes publishes archlinux/archlinux; Debian's boxes are named after the release. */
export function defaultBoxName(a: Publishable): string {
  return a.record.image.distribution === 'arch' ? 'archlinux/archlinux' : `debian/${a.record.image.release}`;
}

export const catalogFile = (boxName: string) => `${boxName.replace('/', '-')}.json`;

export interface FilesResult {
  uploaded: string[];
  catalog?: string;
}

export interface FilePlan {
  run(): Promise<FilesResult>;
}

/** Checks everything first (one box name, catalog merge, no published file replaced); `run` writes. */
export async function planFiles(target: FileTarget, artifacts: Publishable[], boxName?: string): Promise<FilePlan> {
  const boxes = artifacts.filter((a) => a.kind === 'box');
  const names = new Set(boxes.map((b) => boxName ?? defaultBoxName(b)));
  if (names.size > 1) throw new UsageError(`these boxes are of ${[...names].join(' and ')}: a catalog describes one box`, 'publish one distribution and release at a time');
  const name = [...names][0];
  const uploads: { version: string; file: string; path: string }[] = [];
  for (const a of artifacts) {
    const version = a.record.image.buildVersion;
    await target.check(version, a.name, a.sha256);
    uploads.push({ version, file: a.name, path: a.path });
    for (const side of SIDECARS(a.name)) {
      const path = join(a.path, '..', side);
      if (await access(path).then(() => true, ifMissing(false))) uploads.push({ version, file: side, path });
    }
  }
  let catalog: { file: string; text: string } | undefined;
  if (name) {
    const file = catalogFile(name);
    const existingText = await target.readCatalog(file);
    const existing = existingText === undefined ? undefined : parseCatalog(existingText, `${target.where}/${file}`);
    const entries: NewBox[] = boxes.map((b) => ({
      version: b.record.image.buildVersion,
      provider: findProfile(b.record.image.profile)!.provider!,
      url: target.urlFor(b.record.image.buildVersion, b.name),
      sha256: b.sha256,
      unverified: !b.verified,
    }));
    const distribution = DISTRIBUTION_TITLE[boxes[0]!.record.image.distribution];
    const merged = mergeCatalog(existing, name, `${distribution}, built reproducibly with mkosi and boxes`, entries);
    catalog = { file, text: `${JSON.stringify(merged, null, 2)}\n` };
  }
  return {
    async run() {
      const uploaded: string[] = [];
      for (const u of uploads) {
        await target.put(u.version, u.file, u.path);
        uploaded.push(target.urlFor(u.version, u.file));
      }
      return { uploaded, catalog: catalog ? await target.writeCatalog(catalog.file, catalog.text) : undefined };
    },
  };
}
