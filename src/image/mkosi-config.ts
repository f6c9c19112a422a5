/** The resolved mkosi configuration, read with `mkosi --json summary` (ini parsers miss mkosi's rules). */
import { z } from 'zod';
import { BuildError } from '../system/errors.js';
import { MKOSI_UMASK, type Mkosi } from '../adapters/mkosi.js';
import { run } from '../system/runner.js';

const imageSchema = z.object({
  Distribution: z.string(),
  Release: z.string(),
  Seed: z.string(),
  Output: z.string(),
  ToolsTreeDistribution: z.string().nullable(),
  ToolsTreeRelease: z.string().nullable(),
  ToolsTreeMirror: z.string().nullable().optional(),
  ToolsTreePackages: z.array(z.string()).optional(),
  Environment: z.record(z.string(), z.string()),
});
export type ResolvedImage = z.infer<typeof imageSchema> & { /** Every field, as mkosi printed it. */ all: Record<string, unknown> };

export async function readResolvedConfig(mkosi: Mkosi, args: string[], signal?: AbortSignal): Promise<ResolvedImage> {
  const { stdout } = await run([...mkosi.argv, ...args, '--json', 'summary'], {
    env: mkosi.env,
    umask: MKOSI_UMASK,
    signal,
    what: 'mkosi summary',
  });
  const parsed = z.object({ Images: z.array(z.unknown()).min(1) }).safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new BuildError('mkosi summary printed no image');
  const image = imageSchema.safeParse(parsed.data.Images.at(-1));
  if (!image.success) throw new BuildError(`mkosi summary is missing fields: ${image.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return { ...image.data, all: parsed.data.Images.at(-1) as Record<string, unknown> };
}

/** Drops the build-only flags so `summary` sees the same configuration as `build`. */
export function summaryArgs(buildArgs: readonly string[]): string[] {
  return buildArgs.filter((a) => a !== 'build' && a !== '--force');
}
