/** `sfdisk --json`, read through a schema: a disk image's partition table. */
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { parseJson } from '../system/expected.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';

const tableSchema = z.object({
  partitiontable: z.object({
    label: z.string(),
    sectorsize: z.number().int().positive().optional(),
    partitions: z
      .array(z.object({ node: z.string(), start: z.number().int().nonnegative(), size: z.number().int().nonnegative(), type: z.string(), uuid: z.string().optional() }))
      .optional(),
  }),
});
export type Partition = NonNullable<z.infer<typeof tableSchema>['partitiontable']['partitions']>[number];

export interface PartitionTable {
  label: string;
  sectorSize: number;
  partitions: Partition[];
}

/** The table of a raw disk; a UsageError names the image when sfdisk's answer cannot be read. */
export async function partitionTable(tools: Toolbox, raw: string, image: string, signal?: AbortSignal): Promise<PartitionTable> {
  const out = (await run(['sfdisk', '--json', raw], { tools, signal, what: 'sfdisk --json' })).stdout;
  const bad = () => new UsageError(`${image}: sfdisk printed a partition table boxes cannot read`);
  const parsed = tableSchema.safeParse(parseJson(out, bad));
  if (!parsed.success) throw bad();
  const t = parsed.data.partitiontable;
  return { label: t.label, sectorSize: t.sectorsize ?? 512, partitions: t.partitions ?? [] };
}
