/** The manifest digest and layer diff_ids of an OCI archive, read from the archive itself. */
import * as tar from 'tar';

const SMALL = 1 << 20;

/** `refs`: the archive's ref names (org.opencontainers.image.ref.name), the tags it is pushed under. */
export async function ociFacts(archive: string): Promise<{ digest: string; diffIds: string[]; refs: string[] }> {
  // Index, manifests and configs are small; layers are skipped unread.
  const files = new Map<string, string>();
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      if ((entry.size ?? 0) > SMALL) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.set(entry.path.replace(/^\.\//, ''), Buffer.concat(chunks).toString('utf8')));
    },
  });
  const blob = (digest: string) => {
    const text = files.get(`blobs/${digest.replace(':', '/')}`);
    if (text === undefined) throw new Error(`${archive}: blob ${digest} is missing`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const index = JSON.parse(files.get('index.json') ?? 'null') as { manifests?: { digest: string; annotations?: Record<string, string> }[] } | null;
  const digest = index?.manifests?.[0]?.digest;
  if (!digest) throw new Error(`${archive}: index.json names no manifest`);
  const manifest = blob(digest) as { config: { digest: string } };
  const config = blob(manifest.config.digest) as { rootfs?: { diff_ids?: string[] } };
  const refs = (index?.manifests ?? []).map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter((r): r is string => Boolean(r));
  return { digest, diffIds: config.rootfs?.diff_ids ?? [], refs };
}
