import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveState, archRequests, debianRequests } from '../../src/image/archive-state.js';
import { mkosiBuildArgs } from '../../src/image/mkosi-args.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { aptSources } from '../../src/image/sources.js';

let server: Server;
let base: string;
const files = new Map<string, string>();
const lastModified = new Map<string, string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'last-modified': lastModified.get(req.url!) ?? 'Mon, 23 Nov 2026 00:00:00 GMT' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('a live archive in the install cache key', () => {
  it('asks Debian for the InRelease of every suite boxes writes into the apt sources', () => {
    expect(debianRequests(aptSources({ release: 'trixie', mirror: 'http://m.example/debian/' })).map((r) => r.url)).toEqual([
      'http://m.example/debian/dists/trixie/InRelease',
      'http://m.example/debian/dists/trixie-updates/InRelease',
      'http://security.debian.org/debian-security/dists/trixie-security/InRelease',
    ]);
    expect(archRequests('https://m.example/', ['core'])).toEqual([{ url: 'https://m.example/core/os/x86_64/core.db', head: true }]);
  });

  it('changes when the archive publishes, and is undefined when it cannot be read', async () => {
    files.set('/debian/dists/trixie/InRelease', 'Date: Mon, 23 Nov 2026\nlibzstd1 1.5.7+dfsg-1\n');
    const requests = [{ url: `${base}/debian/dists/trixie/InRelease` }];
    const before = await archiveState(requests);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(await archiveState(requests)).toBe(before);
    files.set('/debian/dists/trixie/InRelease', 'Date: Tue, 24 Nov 2026\nlibzstd1 1.5.7+dfsg-1+deb13u1\n');
    expect(await archiveState(requests)).not.toBe(before);

    files.set('/core/os/x86_64/core.db', 'db');
    const head = [{ url: `${base}/core/os/x86_64/core.db`, head: true }];
    const arch = await archiveState(head);
    lastModified.set('/core/os/x86_64/core.db', 'Tue, 24 Nov 2026 06:00:00 GMT');
    expect(await archiveState(head)).not.toBe(arch);

    expect(await archiveState([{ url: `${base}/missing/InRelease` }])).toBeUndefined();
    expect(await archiveState([{ url: 'http://127.0.0.1:9/InRelease' }])).toBeUndefined();
  });

  it('without a readable state, mkosi builds without its install cache', () => {
    const options = parseBuildOptions({ profile: 'basic', distribution: 'debian', sourceDateEpoch: '1763856000' }, { now: new Date() });
    const paths = { treeDir: '/t', outputDir: '/o', cacheDir: '/c', packageCacheDir: '/p', workspaceDir: '/w', toolsTree: '/tools' };
    expect(mkosiBuildArgs(options, options.targets[0]!, paths, 'abc')).toContain('--incremental=yes');
    expect(mkosiBuildArgs(options, options.targets[0]!, { ...paths, incremental: false }, 'abc')).not.toContain('--incremental=yes');
  });
});
