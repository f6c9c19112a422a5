// boxes publish against output directories written like a build's (records, SHA256SUMS, .SHA256)
// with small stand-in artifacts: the reproducibility gate, byte checks before anything is written,
// the directory target and its catalog merge, the executor rule, and GitLab uploads against a
// local HTTP server on 127.0.0.1.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSha256Sums } from '../../src/image/checksums.js';
import { sha256File } from '../../src/system/sha256.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { ociFacts } from '../../src/record/oci-facts.js';
import { makeRecord } from '../../src/record/record.js';
import { ociArchive, rootTree } from '../support/artifact-fixtures.js';
import { stableJson } from '../../src/record/stable-json.js';
import { recordName } from '../../src/record/write-record.js';
import { parsePublishOptions, type RawPublishOptions } from '../../src/publish/options.js';
import { publish } from '../../src/publish/publish.js';
import { statementName, writeStatement } from '../../src/record/statement.js';
import { InterruptedError, PublishRefused, UsageError } from '../../src/system/errors.js';
import { directoryTarget } from '../../src/publish/file-targets.js';
import { UNVERIFIED } from '../../src/vagrant/catalog-merge.js';

const cli = resolve(import.meta.dirname, '../../dist/cli.js');
const scratch = () => mkdtempSync(join(tmpdir(), 'boxes-publish-'));
const readdirSafe = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

interface Fake {
  profile: string;
  version?: string;
  /** Write a verification statement as boxes verify would. */
  verified?: boolean;
}

/** An output directory as boxes build leaves it, with random bytes standing in for each artifact. */
async function output(dir: string, fakes: Fake[]): Promise<string[]> {
  const names: string[] = [];
  for (const f of fakes) {
    const o = parseBuildOptions({ profile: f.profile, sourceDateEpoch: '1763856000', buildVersion: f.version ?? '20251123.0' }, { now: new Date(), hostDistribution: 'debian' });
    const name = o.targets[0]!.artifact.name;
    const path = join(dir, name);
    if (f.profile === 'container') ociArchive([rootTree()], path, ['base', `base-${o.buildVersion}`]);
    else writeFileSync(path, randomBytes(4096));
    const sha256 = await sha256File(path);
    const digest = f.profile === 'container' ? (await ociFacts(path)).digest : undefined;
    writeFileSync(`${path}.SHA256`, `${sha256}  ${name}\n`);
    const record = makeRecord({
      toolVersion: '0.1.0',
      revision: 'abc',
      mkosiVersion: '25.3',
      toolsTree: { distribution: 'debian', release: 'trixie', packages: [] },
      options: o,
      target: o.targets[0]!,
      seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
      packages: [],
      artifact: { name, sha256, size: 4096, digest },
    });
    writeFileSync(join(dir, recordName(name)), stableJson(record));
    if (f.verified !== false)
      await writeStatement({ artifact: path, sha256, rebuilt: { sha256, digest: digest ?? null }, method: 'verify', variations: ['tree path'], mkosi: '25.3', buildMode: 'root' });
    names.push(name);
  }
  await writeSha256Sums(dir);
  return names;
}

const run = (raw: Partial<RawPublishOptions>, env: NodeJS.ProcessEnv = {}) => publish(parsePublishOptions({ outputDir: 'output', ...raw }), { env, onEvent: () => undefined });
const catalogOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'debian-trixie.json'), 'utf8'));

describe('boxes publish trusts nothing it reads', () => {
  it.each(['../../x.qcow2', 'sub/x.qcow2', '..', 'x\u001b[31m.qcow2'])('refuses SHA256SUMS naming %j, and writes nothing', async (bad) => {
    const out = scratch();
    await output(out, [{ profile: 'basic' }]);
    writeFileSync(join(out, 'SHA256SUMS'), `${readFileSync(join(out, 'SHA256SUMS'), 'utf8')}${'a'.repeat(64)}  ${bad}\n`);
    const target = join(scratch(), 'site');
    const error = await run({ outputDir: out, boxes: target }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/only plain file names may be published/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a record that names another artifact than the one it sits beside', async () => {
    const out = scratch();
    const [name] = await output(out, [{ profile: 'basic' }]);
    const path = join(out, recordName(name!));
    writeFileSync(path, readFileSync(path, 'utf8').replace(`"name": "${name}"`, '"name": "../../etc/x.qcow2"'));
    await writeSha256Sums(out);
    await expect(run({ outputDir: out, boxes: join(scratch(), 'site') })).rejects.toThrow(/is the record of "\.\.\/\.\.\/etc\/x\.qcow2"/);
  });
});

describe('boxes publish: the gate', () => {
  it('refuses an artifact without a verification statement, and writes nothing', async () => {
    const out = scratch();
    const [name] = await output(out, [{ profile: 'basic', verified: false }]);
    const target = join(scratch(), 'site');
    await expect(run({ outputDir: out, boxes: target })).rejects.toThrow(new RegExp(`${name!.replaceAll('.', '\\.')} has no verification statement`));
    await expect(run({ outputDir: out, boxes: target })).rejects.toBeInstanceOf(PublishRefused);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a statement that vouches for other bytes', async () => {
    const out = scratch();
    const [name] = await output(out, [{ profile: 'basic' }]);
    const path = join(out, statementName(name!));
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll(await sha256File(join(out, name!)), 'b'.repeat(64)));
    await expect(run({ outputDir: out, boxes: join(out, 'site') })).rejects.toThrow(/vouches for sha256 b{64}, but .* is [0-9a-f]{64}/);
  });

  it('refuses bytes that changed after the build, even with --unverified, before anything is written', async () => {
    const out = scratch();
    const [a, b] = await output(out, [{ profile: 'basic' }, { profile: 'vagrant-libvirt' }]);
    writeFileSync(join(out, b!), randomBytes(4096));
    const site = join(out, 'site');
    await expect(run({ outputDir: out, boxes: site, unverified: true })).rejects.toThrow(/changed after the build/);
    expect(existsSync(join(site, a!))).toBe(false);
  });

  it('leaves the executor image out unless --include-executor', async () => {
    const out = scratch();
    const [basic, executor] = await output(out, [{ profile: 'basic' }, { profile: 'libvirt-executor' }]);
    const site = join(out, 'site');
    const report = await run({ outputDir: out, boxes: site });
    expect(report.skipped).toEqual([expect.stringContaining(executor!)]);
    expect(readdirSync(site)).toContain(basic);
    expect(readdirSync(site)).not.toContain(executor);
    await run({ outputDir: out, boxes: site, includeExecutor: true });
    expect(readdirSync(site)).toContain(executor);
  });

  it('exits 3 from the command line with one line that says what to do, and 2 for no target', () => {
    const out = scratch();
    return output(out, [{ profile: 'basic', verified: false }]).then(() => {
      const refused = spawnSync('node', [cli, 'publish', '--output-dir', out, '--boxes', join(out, 'site')], { encoding: 'utf8' });
      expect(refused.status).toBe(3);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/no verification statement.*boxes verify/);
      const usage = spawnSync('node', [cli, 'publish', '--output-dir', out], { encoding: 'utf8' });
      expect(usage.status).toBe(2);
      expect(usage.stderr).toMatch(/say where to publish/);
    });
  });
});

describe('boxes publish: a directory of boxes and its catalog', () => {
  it('copies artifacts and their records, statements and checksums, and merges versions into the catalog', async () => {
    const site = join(scratch(), 'site');
    const first = scratch();
    const [box1] = await output(first, [{ profile: 'vagrant-libvirt', version: '20251123.0' }]);
    await run({ outputDir: first, boxes: site });
    for (const f of [box1!, `${box1}.SHA256`, recordName(box1!), statementName(box1!)]) expect(readFileSync(join(site, f))).toEqual(readFileSync(join(first, f)));
    const second = scratch();
    const [box2, box3] = await output(second, [
      { profile: 'vagrant-libvirt', version: '20251124.0' },
      { profile: 'vagrant-virtualbox', version: '20251124.0', verified: false },
    ]);
    await run({ outputDir: second, boxes: site, unverified: true });
    const catalog = catalogOf(site);
    expect(catalog.name).toBe('debian/trixie');
    expect(catalog.versions.map((v: { version: string }) => v.version)).toEqual(['20251123.0', '20251124.0']);
    const v2 = catalog.versions[1];
    expect(v2.description).toBe(UNVERIFIED);
    expect(v2.providers.map((p: { name: string; url: string; checksum: string }) => [p.name, p.url, p.checksum])).toEqual([
      ['libvirt', `file://${site}/${box2}`, await sha256File(join(second, box2!))],
      ['virtualbox', `file://${site}/${box3}`, await sha256File(join(second, box3!))],
    ]);
    expect(catalog.versions[0].description).toBeUndefined();
  });

  it('refuses other bytes under a published version and keeps the catalog as it was', async () => {
    const site = join(scratch(), 'site');
    await run({
      outputDir: await (async () => {
        const d = scratch();
        await output(d, [{ profile: 'vagrant-libvirt' }]);
        return d;
      })(),
      boxes: site,
    });
    const before = readFileSync(join(site, 'debian-trixie.json'), 'utf8');
    const again = scratch();
    await output(again, [{ profile: 'vagrant-libvirt' }]);
    await expect(run({ outputDir: again, boxes: site })).rejects.toThrow(/already exists with other bytes|already published/);
    expect(readFileSync(join(site, 'debian-trixie.json'), 'utf8')).toBe(before);
  });

  it('refuses a catalog of another box name', async () => {
    const site = scratch();
    writeFileSync(join(site, 'debian-trixie.json'), JSON.stringify({ name: 'someone/else', description: 'x', versions: [] }));
    const out = scratch();
    await output(out, [{ profile: 'vagrant-libvirt' }]);
    await expect(run({ outputDir: out, boxes: site })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('boxes publish: GitLab generic packages', () => {
  it('PUTs each file with the job token, retries a 503, and merges the catalog it downloads', async () => {
    const seen: { method: string; url: string; token?: string; bytes: number }[] = [];
    const stored = new Map<string, Buffer>();
    let failed = false;
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method!, url: req.url!, token: req.headers['job-token'] as string | undefined, bytes: body.length });
        if (req.method === 'PUT' && !failed) {
          failed = true;
          res.writeHead(503).end();
        } else if (req.method === 'PUT') {
          stored.set(req.url!, body);
          res.writeHead(201, { 'content-type': 'application/json' }).end('{"message":"201 Created"}');
        } else if (stored.has(req.url!)) res.writeHead(200).end(stored.get(req.url!));
        else res.writeHead(404).end('{"message":"404 Not Found"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/projects/42`;
    try {
      const out = scratch();
      const [box] = await output(out, [{ profile: 'vagrant-libvirt' }]);
      const options = parsePublishOptions({ outputDir: out, boxes: api, gitlabPackage: 'debian-images' });
      const report = await publish(options, { env: { CI_JOB_TOKEN: 'secret-token' }, onEvent: () => undefined });
      const base = '/api/v4/projects/42/packages/generic/debian-images';
      expect(seen.every((s) => s.token === 'secret-token')).toBe(true);
      expect(seen.filter((s) => s.method === 'PUT' && s.url === `${base}/20251123.0/${box}`)).toHaveLength(2);
      expect(stored.get(`${base}/20251123.0/${box}`)).toEqual(readFileSync(join(out, box!)));
      expect(stored.has(`${base}/20251123.0/${recordName(box!)}`)).toBe(true);
      const catalog = JSON.parse(stored.get(`${base}/catalog/debian-trixie.json`)!.toString());
      expect(catalog.versions[0].providers[0].url).toBe(`${api}/packages/generic/debian-images/20251123.0/${box}`);
      expect(report.catalog).toBe(`${api}/packages/generic/debian-images/catalog/debian-trixie.json`);
      // Without a token: one line, and no request made.
      const before = seen.length;
      await expect(publish(options, { env: {}, onEvent: () => undefined })).rejects.toThrow(/needs a token/);
      expect(seen.length).toBe(before);
      // The same version again, with other bytes in the box: refused before any PUT, as the directory target does.
      writeFileSync(join(out, box!), randomBytes(4096));
      const sha = await sha256File(join(out, box!));
      writeFileSync(join(out, `${box}.SHA256`), `${sha}  ${box}\n`);
      const recordPath = join(out, recordName(box!));
      writeFileSync(recordPath, readFileSync(recordPath, 'utf8').replace(/"sha256": "[0-9a-f]{64}"/, `"sha256": "${sha}"`));
      await writeStatement({
        artifact: join(out, box!),
        sha256: sha,
        rebuilt: { sha256: sha, digest: null },
        method: 'verify',
        variations: ['tree path'],
        mkosi: '25.3',
        buildMode: 'root',
      });
      await writeSha256Sums(out);
      const puts = seen.filter((x) => x.method === 'PUT').length;
      await expect(publish(options, { env: { CI_JOB_TOKEN: 'secret-token' }, onEvent: () => undefined })).rejects.toThrow(/is already published with other bytes/);
      expect(seen.filter((x) => x.method === 'PUT').length).toBe(puts);
    } finally {
      server.close();
    }
  });
});

describe('boxes publish: a registry that does not answer', () => {
  it('exits 1 naming the archive and the registry, after the checks passed', async () => {
    const out = scratch();
    const [name] = await output(out, [{ profile: 'container' }]);
    const r = spawnSync('node', [cli, 'publish', '--output-dir', out, '--registry', 'docker://127.0.0.1:9/debian', '--no-tls-verify'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot push ${name} to docker://127.0.0.1:9/debian:base`);
    expect(r.stderr).toMatch(/connection refused/i);
  });

  it('takes only container archives for --registry, and only disk images and boxes for --boxes', async () => {
    const out = scratch();
    await output(out, [{ profile: 'vagrant-libvirt' }]);
    await expect(run({ outputDir: out, registry: 'docker://127.0.0.1:9/debian', tlsVerify: false })).rejects.toThrow(/holds no container artifact to publish/);
  });
});

describe('boxes publish: options', () => {
  it.each([
    [{}, /say where to publish/],
    [{ registry: 'docker://127.0.0.1:5000/debian:base' }, /not docker:\/\/HOST\[:PORT\]\/NAME/],
    [{ registry: 'registry.example/debian' }, /not docker:\/\//],
    [{ boxes: 'https://gitlab.example/api/v4/projects/1' }, /--gitlab-package NAME/],
    [{ boxes: 'site', signBy: 'ABCD' }, /go with --registry/],
    [{ registry: 'docker://r.example/x', signBy: 'A', sigstoreKey: 'k' }, /not both/],
  ])('%j is refused', (raw, message) => {
    expect(() => parsePublishOptions({ outputDir: 'output', ...raw })).toThrow(message);
  });

  it('refuses a token in the GitLab URL without printing it', () => {
    const r = spawnSync(
      'node',
      [cli, 'publish', '--output-dir', scratch(), '--boxes', 'https://ci:glpat-s3cr3t@gitlab.example/api/v4/projects/1?private_token=s3cr3t2', '--gitlab-package', 'x'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/carries a credential: put the token in CI_JOB_TOKEN or GITLAB_TOKEN/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/s3cr3t/);
  });
});

describe('boxes publish stops when told', () => {
  it('SIGTERM during an upload to a server that never answers: exit 130, no catalog, no token in the output', async () => {
    const out = scratch();
    await output(out, [{ profile: 'vagrant-libvirt' }]);
    const puts: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      if (req.method === 'PUT') {
        puts.push(req.url!);
        req.resume(); // read the body, answer never
        return;
      }
      req.resume();
      res.writeHead(404).end('{"message":"404 Not Found"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4/projects/7`;
    try {
      const child = spawn('node', [cli, 'publish', '--output-dir', out, '--boxes', api, '--gitlab-package', 'images'], {
        env: { ...process.env, CI_JOB_TOKEN: 'tok-s3cr3t' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += String(d)));
      child.stderr.on('data', (d) => (output += String(d)));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      for (let i = 0; i < 200 && puts.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(puts.length, output).toBe(1);
      child.kill('SIGTERM');
      expect(await exited, output).toBe(130);
      expect(output).not.toContain('tok-s3cr3t');
      expect(
        puts.some((u) => u.includes('/catalog/')),
        'the catalog is written last, never after an interruption',
      ).toBe(false);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
  it('an interrupt stops a copy into --boxes in the middle: the reason is thrown, nothing is left', async () => {
    const dir = scratch();
    const fifo = join(dir, 'endless.qcow2');
    execFileSync('mkfifo', [fifo]);
    // A source that sends a first chunk and then nothing: the copy can only end by being stopped.
    const writer = spawn('sh', ['-c', `head -c 65536 /dev/zero > ${fifo}.part; exec cat ${fifo}.part - > ${fifo}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const target = join(dir, 'boxes');
    const stop = new AbortController();
    const put = directoryTarget(target, undefined, stop.signal).put('1', 'image.qcow2', fifo);
    for (let i = 0; i < 200 && !readdirSafe(target).some((n) => n.endsWith('.tmp')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(readdirSafe(target).some((n) => n.endsWith('.tmp'))).toBe(true);
    stop.abort(new InterruptedError('interrupted by SIGTERM'));
    await expect(put).rejects.toBeInstanceOf(InterruptedError);
    expect(readdirSync(target)).toEqual([]);
    writer.kill();
  });
});

describe('boxes publish to a place nothing can be written', () => {
  it('exits 2 at once for a --boxes directory below /proc', async () => {
    const out = scratch();
    await output(out, [{ profile: 'basic' }]);
    const r = spawnSync('node', [cli, 'publish', '--output-dir', out, '--boxes', '/proc/boxes-publish-test'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot create the --boxes directory \/proc\/boxes-publish-test/);
  });
});
