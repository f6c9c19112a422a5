/** Reads a build record file; every problem is a usage error naming the field path. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { findProfile } from '../artifact/profiles.js';
import { UsageError } from '../system/errors.js';
import { buildRecordSchema, type BuildRecord } from './schema.js';

export async function readRecord(path: string): Promise<BuildRecord> {
  const name = basename(path);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    const what = error.code === 'EISDIR' ? 'is a directory, not a build record' : `cannot be read as a build record (${error.code ?? error.message})`;
    throw new UsageError(`${path} ${what}`, 'pass the <artifact>.manifest.json that boxes build wrote');
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${name} is not JSON: ${(error as Error).message}`, 'pass the <artifact>.manifest.json that boxes build wrote');
  }
  const parsed = buildRecordSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new UsageError(`${name} is not a boxes build record: ${problems.join('; ')}`);
  }
  const record = parsed.data;
  const spec = findProfile(record.image.profile);
  if (!spec) throw new UsageError(`${name}: image.profile: unknown profile '${record.image.profile}'`, 'the record comes from another version of boxes');
  if (record.image.variant !== null && !(spec.variants as readonly string[]).includes(record.image.variant))
    throw new UsageError(`${name}: image.variant: profile ${spec.name} has no variant '${record.image.variant}'`);
  return record;
}
