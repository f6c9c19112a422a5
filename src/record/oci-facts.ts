/** The manifest digest, layer diff_ids and ref names of an OCI archive, from its documents (checked whole by the one OCI reader). */
import { readOciDocuments } from '../adapters/oci/documents.js';

/** `digest` and `diffIds`: the first image's. `refs`: the ref names index.json gives, the tags it is pushed under. */
export async function ociFacts(archive: string): Promise<{ digest: string; diffIds: string[]; refs: string[] }> {
  const plan = await readOciDocuments(archive);
  const first = plan.images[0]!;
  return { digest: first.manifest, diffIds: first.diffIds, refs: plan.refs };
}
