/** `<artifact>.SHA256` files and the output directory's SHA256SUMS, in sha256sum's format. */
import { readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { sha256File } from '../system/sha256.js';

const ARTIFACT = /\.(tar|qcow2|box|manifest\.json|spdx\.json)$/;

/** Rewrites SHA256SUMS over every artifact, build record and SBOM in `dir`, sorted by name; written atomically. */
export async function writeSha256Sums(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => ARTIFACT.test(n)).sort();
  const lines = [];
  for (const name of names) lines.push(`${await sha256File(join(dir, name))}  ${name}\n`);
  const path = join(dir, 'SHA256SUMS');
  await writeFile(`${path}.tmp`, lines.join(''));
  await rename(`${path}.tmp`, path);
  return path;
}
