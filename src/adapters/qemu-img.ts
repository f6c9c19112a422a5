/** `qemu-img info --output=json`, read through a schema: what boxes needs to know of a disk image. */
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { parseJson } from '../system/expected.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';

const infoSchema = z.object({
  'virtual-size': z.number().int().nonnegative(),
  format: z.string(),
  'backing-filename': z.string().optional(),
  'format-specific': z.object({ data: z.object({ 'data-file': z.string().optional(), extents: z.array(z.object({ filename: z.string() })).optional() }).optional() }).optional(),
});
export type ImageInfo = z.infer<typeof infoSchema>;

export interface InfoOptions {
  /** Where qemu-img comes from. */
  tools: Toolbox;
  /** Read the image as this format, never probing it (an artifact's format is known). */
  format?: string;
  signal?: AbortSignal;
}

export async function imageInfo(image: string, options: InfoOptions): Promise<ImageInfo> {
  const argv = ['qemu-img', 'info', ...(options.format ? ['-f', options.format] : []), '--output=json', image];
  const out = (await run(argv, { tools: options.tools, signal: options.signal, what: 'qemu-img info' })).stdout;
  const bad = (why: string) => new UsageError(`${image}: qemu-img cannot describe it (it printed ${why})`, 'pass a qcow2 or raw disk image');
  const parsed = infoSchema.safeParse(parseJson(out, () => bad('something that is not JSON')));
  if (!parsed.success) throw bad(`a description boxes cannot read (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  return parsed.data;
}
