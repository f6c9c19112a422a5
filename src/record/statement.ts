/**
 * The verification statement `<artifact>.reproduced.json`: an in-toto Statement (v1) saying that a
 * second, independent build of the artifact gave the same sha256. `boxes verify` and `boxes
 * reproduce` write it; `boxes publish` publishes nothing whose statement is missing or names other
 * bytes ("we only publish an image if it is reproducible").
 */
import { companions } from '../artifact/artifact.js';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { stableJson } from './stable-json.js';
import { boxesVersion } from '../system/paths.js';
import { writeFileAtomic } from '../system/write-atomic.js';
import { ifMissing } from '../system/expected.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'urn:boxes:reproduced:v1';

export const statementName = (artifact: string) => companions(artifact).statement;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string(), digest: z.object({ sha256 }) })).length(1),
  predicateType: z.literal(PREDICATE_TYPE),
  predicate: z.object({
    /** `verify`: two builds from two tree copies; `reproduce`: a rebuild from the build record. */
    method: z.enum(['verify', 'reproduce']),
    /** The second build's sha256 (and OCI manifest digest), equal to the subject's by construction. */
    rebuilt: z.object({ sha256, digest: z.string().nullable() }),
    /** What differed between the two builds. */
    variations: z.array(z.string()),
    builder: z.object({ tool: z.string(), mkosi: z.string(), buildMode: z.string(), host: z.string() }),
    finishedOn: z.string(),
  }),
});

export type Statement = z.infer<typeof statementSchema>;

export interface Reproduction {
  artifact: string;
  sha256: string;
  rebuilt: { sha256: string; digest: string | null };
  method: Statement['predicate']['method'];
  variations: string[];
  mkosi: string;
  buildMode: string;
}

/** Writes the statement next to the artifact; only for a rebuild that matched. */
export async function writeStatement(r: Reproduction): Promise<string> {
  if (r.sha256 !== r.rebuilt.sha256) throw new Error(`${basename(r.artifact)} was not reproduced: no statement`);
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: basename(r.artifact), digest: { sha256: r.sha256 } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      method: r.method,
      rebuilt: r.rebuilt,
      variations: r.variations,
      builder: { tool: `boxes ${await boxesVersion()}`, mkosi: r.mkosi, buildMode: r.buildMode, host: hostname() },
      finishedOn: new Date().toISOString(),
    },
  };
  const path = join(dirname(r.artifact), statementName(basename(r.artifact)));
  await writeFileAtomic(path, stableJson(statement));
  return path;
}

/** Why the statement does not vouch for these bytes, or undefined when it does. */
export async function statementProblem(artifact: string, sha: string): Promise<string | undefined> {
  const name = basename(artifact);
  const path = join(dirname(artifact), statementName(name));
  const text = await readFile(path, 'utf8').catch(ifMissing(undefined));
  if (text === undefined) return `${name} has no verification statement (${statementName(name)}): no second build reproduced it`;
  let parsed;
  try {
    parsed = statementSchema.safeParse(JSON.parse(text));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return `${statementName(name)} is not JSON`;
  }
  if (!parsed.success) return `${statementName(name)} is not a boxes verification statement: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  const s = parsed.data;
  const subject = s.subject[0]!;
  if (subject.name !== name) return `${statementName(name)} is about ${subject.name}, not ${name}`;
  if (subject.digest.sha256 !== sha || s.predicate.rebuilt.sha256 !== sha) return `${statementName(name)} vouches for sha256 ${subject.digest.sha256}, but ${name} is ${sha}`;
  return undefined;
}
