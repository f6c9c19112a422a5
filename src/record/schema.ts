/**
 * The build record `<artifact>.manifest.json`: everything needed to rebuild an artifact and check
 * the result. The schema ships with the tool, so any record can be validated.
 */
import { z } from 'zod';
import { ARCHITECTURES } from '../artifact/artifact.js';
import { VARIANTS } from '../artifact/profiles.js';

const packageEntry = z.object({
  type: z.string(),
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
});

export const buildRecordSchema = z.object({
  recordVersion: z.literal(1),
  tool: z.object({ name: z.literal('boxes'), version: z.string() }),
  config: z.object({
    /** Git commit of the mkosi tree, or "unknown" outside a git checkout. */
    commit: z.string(),
    dirty: z.boolean(),
  }),
  mkosi: z.object({ version: z.string() }),
  toolsTree: z.object({
    distribution: z.string().nullable(),
    release: z.string().nullable(),
    /** `name version` of every package installed in the tools tree. */
    packages: z.array(z.string()),
  }),
  image: z.object({
    distribution: z.enum(['arch', 'debian']),
    release: z.string(),
    architecture: z.enum(ARCHITECTURES),
    profile: z.string(),
    variant: z.enum(VARIANTS).nullable(),
    mirror: z.string().nullable(),
    snapshot: z.string().nullable(),
    sourceDateEpoch: z.number().int().nonnegative(),
    seed: z.string(),
    buildVersion: z.string(),
  }),
  packages: z.array(packageEntry),
  artifact: z.object({
    name: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    /** OCI manifest digest and layer diff_ids, for container archives. */
    digest: z.string().nullable(),
    diffIds: z.array(z.string()),
  }),
  /** The `boxes build` arguments that rebuild this artifact. */
  reproduce: z.array(z.string()),
});

export type BuildRecord = z.infer<typeof buildRecordSchema>;
export type PackageEntry = z.infer<typeof packageEntry>;
