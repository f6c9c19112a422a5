/** `boxes catalog`: reads .box files and writes the Vagrant catalog JSON that `vagrant box add` takes. */
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { optionProblems } from '../system/option-problems.js';
import { requirePath } from '../system/path-kind.js';
import { readBox } from './box-file.js';
import { DISTRIBUTION_TITLE, findProfile } from '../artifact/profiles.js';
import { recordBeside } from '../record/beside.js';
import { vagrantCatalog, type CatalogBox, type VagrantCatalog } from './catalog-json.js';

export interface RawCatalogOptions {
  name?: string;
  baseUrl?: string;
  description?: string;
  version?: string;
  output?: string;
}

export interface CatalogOptions {
  name: string;
  baseUrl: string;
  description?: string;
  /** For boxes without a build record beside them. */
  version?: string;
  output?: string;
  boxes: string[];
}

const schema = z.object({
  name: z
    .string({ error: 'say the box name: --name ORG/NAME (e.g. archlinux/archlinux)' })
    .regex(/^[\w.-]+(\/[\w.-]+)?$/, { error: (i) => `'${String(i.input)}' must look like org/name (letters, digits, ._-)` }),
  baseUrl: z
    .string({ error: 'say where the boxes will be served: --base-url URL (http://, https:// or file://)' })
    .refine((u) => /^(https?|file):\/\/\S*$/.test(u) && URL.canParse(u) && !/[?#]/.test(u), {
      error: (i) => `'${String(i.input)}' is not an http://, https:// or file:// URL without query or fragment`,
    }),
  description: z.string().optional(),
  version: z
    .string()
    .regex(/^[0-9A-Za-z][0-9A-Za-z._+-]*$/, { error: 'may hold only letters, digits and ._+-' })
    .optional(),
  output: z.string().min(1).optional(),
});

export function parseCatalogOptions(raw: RawCatalogOptions, boxes: string[]): CatalogOptions {
  const r = schema.safeParse(raw);
  const problems = r.success ? [] : optionProblems(r.error);
  if (boxes.length === 0) problems.push('no boxes given: boxes catalog --name ORG/NAME --base-url URL BOX...');
  if (problems.length > 0 || !r.success) throw new UsageError(problems.join('; '));
  return { ...r.data, boxes };
}

export async function catalog(options: CatalogOptions): Promise<VagrantCatalog> {
  if (options.output) await requirePath('--output', options.output, 'not-directory');
  const problems: string[] = [];
  const entries: CatalogBox[] = [];
  const systems = new Set<string>();
  let title: string | undefined;
  for (const path of options.boxes) {
    const file = basename(path);
    // What the box is comes from its build record, never from its file name.
    const record = (await recordBeside(resolve(path)))?.image;
    const box = await readBox(resolve(path));
    const version = options.version ?? record?.buildVersion;
    if (!version) {
      problems.push(`cannot tell the version of ${file} (it has no build record beside it: pass --version)`);
      continue;
    }
    const provider = record ? findProfile(record.profile)?.provider : undefined;
    if (record && provider !== box.metadata.provider) problems.push(`${file} was built as ${record.profile} but its metadata.json says ${box.metadata.provider}`);
    if (record) {
      systems.add(`${DISTRIBUTION_TITLE[record.distribution]} ${record.release}`);
      title ??= DISTRIBUTION_TITLE[record.distribution];
    }
    const twin = entries.find((e) => e.version === version && e.provider === box.metadata.provider);
    if (twin) problems.push(`${twin.file} and ${file} are both version ${version} for ${box.metadata.provider}`);
    entries.push({ file, version, provider: box.metadata.provider, sha256: box.sha256 });
  }
  if (systems.size > 1) problems.push(`a catalog describes one box, but these are of ${[...systems].join(' and ')}`);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const description = options.description ?? `${title ?? options.name}, built reproducibly with mkosi and boxes`;
  return vagrantCatalog({ name: options.name, description, baseUrl: options.baseUrl, boxes: entries });
}
