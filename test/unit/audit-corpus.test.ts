// The audit against OCI archives made the way an attacker or a careless hook would hide a secret:
// each case plants one and must be a finding naming the path (and the layer); each broken archive
// must be exit 2 naming what is wrong; and a mutation loop feeds the reader damaged archives that
// may crash, hang or answer "clean" for nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditArtifact } from '../../src/audit/audit-artifact.js';
import { HOST_TOOLBOX } from '../../src/system/toolbox.js';
import { SecretScanner } from '../../src/audit/secret-scan.js';
import { UsageError } from '../../src/system/errors.js';
import { ArchiveBuilder, CLEAN, HOST_KEY, PGP_KEY, tarOf, type Layer, type Member } from '../support/oci-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-audit-corpus-'));
const cli = resolve(import.meta.dirname, '../../dist/cli.js');
let n = 0;
const file = (data: Buffer) => {
  const path = join(dir, `case-${n++}.tar`);
  writeFileSync(path, data);
  return path;
};
const archiveOf = (layers: Layer[]) => {
  const b = new ArchiveBuilder();
  return file(tarOf(b.archive([b.image(layers)]).members));
};
const withClean = (...members: Member[]): Layer[] => [{ members: [...CLEAN, ...members] }];
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
const big = (secret: string) => Buffer.concat([Buffer.alloc(700_000, 'a'), Buffer.from(secret), Buffer.alloc(10_000, 'b')]);

interface Case {
  name: string;
  make: () => string;
  rule: string;
  path: string;
  layer?: RegExp;
}

const CASES: Case[] = [
  {
    name: 'a host key added in one layer and deleted by a whiteout in the next',
    make: () => archiveOf([{ members: [...CLEAN, { name: 'etc/ssh/ssh_host_rsa_key', content: HOST_KEY, mode: 0o600 }] }, { members: [{ name: 'etc/ssh/.wh.ssh_host_rsa_key' }] }]),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
    layer: /^layer 1 of 2 /,
  },
  {
    name: 'a key under a directory an opaque whiteout empties',
    make: () =>
      archiveOf([
        { members: [...CLEAN, { name: 'root/.ssh/', type: 'dir' }, { name: 'root/.ssh/id_ed25519', content: HOST_KEY }] },
        { members: [{ name: 'root/.ssh/.wh..wh..opq' }] },
      ]),
    rule: 'private-key',
    path: '/root/.ssh/id_ed25519',
    layer: /^layer 1 of 2 /,
  },
  {
    name: 'a secret only in the second image of the index',
    make: () => {
      const b = new ArchiveBuilder();
      return file(tarOf(b.archive([b.image(withClean()), b.image(withClean({ name: 'root/.bash_history', content: 'export TOKEN=x\n' }))]).members));
    },
    rule: 'shell-history',
    path: '/root/.bash_history',
  },
  {
    name: 'a secret in an image of a nested index',
    make: () => {
      const b = new ArchiveBuilder();
      return file(tarOf(b.archive([b.image(withClean()), b.index([b.image(withClean({ name: 'etc/machine-id', content: '0123456789abcdef0123456789abcdef\n' }))])]).members));
    },
    rule: 'machine-id',
    path: '/etc/machine-id',
  },
  {
    name: 'a host key spelled ./etc/./ssh/…',
    make: () => archiveOf(withClean({ name: './etc/./ssh/ssh_host_rsa_key', content: HOST_KEY })),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
  },
  {
    name: 'a host key spelled etc//ssh/…',
    make: () => archiveOf(withClean({ name: 'etc//ssh//ssh_host_rsa_key', content: HOST_KEY })),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
  },
  {
    name: 'a host key spelled usr/../etc/ssh/…',
    make: () => archiveOf(withClean({ name: 'usr/../etc/ssh/ssh_host_rsa_key', content: HOST_KEY })),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
  },
  {
    name: 'a hard link to a key, under the link name',
    make: () => archiveOf(withClean({ name: 'usr/share/misc/blob', content: HOST_KEY }, { name: 'etc/ssh/ssh_host_ed25519_key', type: 'hardlink', link: 'usr/share/misc/blob' })),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_ed25519_key',
  },
  {
    name: 'a hard link to a key, under the target name',
    make: () => archiveOf(withClean({ name: 'usr/share/misc/blob', content: HOST_KEY }, { name: 'etc/ssh/ssh_host_ed25519_key', type: 'hardlink', link: 'usr/share/misc/blob' })),
    rule: 'private-key',
    path: '/usr/share/misc/blob',
  },
  {
    name: 'an empty root password field',
    make: () => archiveOf([{ members: CLEAN.map((m) => (m.name === 'etc/shadow' ? { ...m, content: 'root::20000::::::\n' } : m)) }]),
    rule: 'password',
    path: '/etc/shadow',
  },
  {
    name: 'an unlocked password in the shadow backup',
    make: () => archiveOf(withClean({ name: 'etc/shadow-', content: 'root:$6$salt$hash:20000::::::\n' })),
    rule: 'password',
    path: '/etc/shadow-',
  },
  {
    name: 'a group password in gshadow',
    make: () => archiveOf([{ members: CLEAN.map((m) => (m.name === 'etc/gshadow' ? { ...m, content: 'root:$6$salt$hash::root\n' } : m)) }]),
    rule: 'password',
    path: '/etc/gshadow',
  },
  {
    name: 'an empty password field in passwd',
    make: () => archiveOf([{ members: CLEAN.map((m) => (m.name === 'etc/passwd' ? { ...m, content: 'root::0:0:root:/root:/bin/sh\n' } : m)) }]),
    rule: 'password',
    path: '/etc/passwd',
  },
  {
    name: 'a PGP private key block outside any keyring',
    make: () => archiveOf(withClean({ name: 'opt/app/signing.asc', content: PGP_KEY })),
    rule: 'private-key',
    path: '/opt/app/signing.asc',
  },
  {
    name: 'a PEM key at the end of a large file',
    make: () => archiveOf(withClean({ name: 'usr/lib/app/bundle.dat', content: big(HOST_KEY) })),
    rule: 'private-key',
    path: '/usr/lib/app/bundle.dat',
  },
  {
    name: 'a PEM key in an executable no package owns',
    make: () => archiveOf(withClean({ name: 'usr/local/bin/tool', content: Buffer.concat([ELF, Buffer.from(HOST_KEY)]), mode: 0o755 })),
    rule: 'private-key',
    path: '/usr/local/bin/tool',
  },
  {
    name: 'a PEM key in a data file a package owns',
    make: () => archiveOf(withClean({ name: 'usr/share/foo/test.key', content: HOST_KEY }, { name: 'var/lib/dpkg/info/foo.list', content: '/usr/share/foo/test.key\n' })),
    rule: 'private-key',
    path: '/usr/share/foo/test.key',
  },
  {
    name: 'a .netrc in root',
    make: () => archiveOf(withClean({ name: 'root/.netrc', content: 'machine example.org login a password b\n' })),
    rule: 'credentials',
    path: '/root/.netrc',
  },
  {
    name: 'git credentials in a service home',
    make: () => archiveOf(withClean({ name: 'var/lib/ci/.git-credentials', content: 'https://a:b@example.org\n' })),
    rule: 'credentials',
    path: '/var/lib/ci/.git-credentials',
  },
  {
    name: 'a registry login in docker config.json',
    make: () => archiveOf(withClean({ name: 'root/.docker/config.json', content: '{"auths":{"r.example":{"auth":"YTpi"}}}' })),
    rule: 'credentials',
    path: '/root/.docker/config.json',
  },
  {
    name: 'AWS CLI keys',
    make: () => archiveOf(withClean({ name: 'home/u/.aws/credentials', content: '[default]\naws_secret_access_key = x\n' })),
    rule: 'credentials',
    path: '/home/u/.aws/credentials',
  },
  {
    name: 'a kubeconfig token',
    make: () => archiveOf(withClean({ name: 'root/.kube/config', content: 'users:\n- name: a\n  user:\n    token: abc\n' })),
    rule: 'credentials',
    path: '/root/.kube/config',
  },
  {
    name: 'an npm token',
    make: () => archiveOf(withClean({ name: 'home/u/.npmrc', content: '//registry.npmjs.org/:_authToken=abc\n' })),
    rule: 'credentials',
    path: '/home/u/.npmrc',
  },
  {
    name: "systemd's random seed",
    make: () => archiveOf(withClean({ name: 'var/lib/systemd/random-seed', content: 'xxxxxxxx' })),
    rule: 'machine-state',
    path: '/var/lib/systemd/random-seed',
  },
  {
    name: 'a key in a zstd layer',
    make: () => archiveOf([{ members: [...CLEAN, { name: 'etc/ssh/ssh_host_rsa_key', content: HOST_KEY }], compression: 'zstd' }]),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
  },
  {
    name: 'a key in an uncompressed layer',
    make: () => archiveOf([{ members: [...CLEAN, { name: 'etc/ssh/ssh_host_rsa_key', content: HOST_KEY }], compression: 'none' }]),
    rule: 'ssh-host-key',
    path: '/etc/ssh/ssh_host_rsa_key',
  },
];

describe('the audit finds what an attacker would hide', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await auditArtifact(c.make(), { tools: HOST_TOOLBOX });
    expect(r.findings).toContainEqual(expect.objectContaining({ rule: c.rule, path: c.path, ...(c.layer ? { layer: expect.stringMatching(c.layer) } : {}) }));
  });

  it.each([
    ['a clean image', withClean()],
    ['a docker config.json without a login', withClean({ name: 'root/.docker/config.json', content: '{"auths":{}}' })],
    ['a kubeconfig without credentials', withClean({ name: 'root/.kube/config', content: 'clusters: []\n' })],
    ['a public key', withClean({ name: 'etc/ssh/ssh_host_rsa_key.pub', content: 'ssh-rsa AAAA\n' })],
    ['a zstd layer', [{ members: CLEAN, compression: 'zstd' }] as Layer[]],
    // libgnutls and libssh2 carry PEM headers as their parsers' literals.
    [
      'a packaged library with a key header literal',
      withClean(
        { name: 'usr/lib/libtls.so.30', content: Buffer.concat([ELF, Buffer.from(HOST_KEY)]) },
        { name: 'var/lib/pacman/local/tls-1-1/files', content: '%FILES%\nusr/\nusr/lib/\nusr/lib/libtls.so.30\n' },
      ),
    ],
    [
      'a packaged library in a lower layer than its package list',
      [
        { members: [...CLEAN, { name: 'usr/lib/libtls.so.30', content: Buffer.concat([ELF, Buffer.from(HOST_KEY)]) }] },
        { members: [{ name: 'var/lib/dpkg/info/tls.list', content: '/usr/lib/libtls.so.30\n' }] },
      ] as Layer[],
    ],
  ])('passes %s', async (_name, layers) => {
    expect((await auditArtifact(archiveOf(layers), { tools: HOST_TOOLBOX })).findings).toEqual([]);
  });
});

describe('an archive the audit cannot read whole is exit 2, never "clean"', () => {
  const good = () => {
    const b = new ArchiveBuilder();
    return { b, a: b.archive([b.image(withClean())]) };
  };
  it.each<[string, () => string, RegExp]>([
    ['a member name that leaves the root', () => archiveOf(withClean({ name: '../../etc/cron.d/x', content: 'x' })), /leaves the root/],
    ['a hard link that leaves the root', () => archiveOf(withClean({ name: 'etc/x', type: 'hardlink', link: '../../../etc/shadow' })), /leaves the root/],
    [
      'a layer whose bytes do not match its digest',
      () => {
        const { a } = good();
        const layer = a.members.find((m) => m.name.startsWith('blobs/sha256/') && Buffer.isBuffer(m.content) && m.content[0] === 0x1f)!;
        const data = Buffer.from(layer.content as Buffer);
        data[data.length - 9]! ^= 0xff;
        layer.content = data;
        return file(tarOf(a.members));
      },
      /does not match its digest|cannot be read whole/,
    ],
    ['a truncated archive', () => file(tarOf(good().a.members).subarray(0, 3000)), /cannot be read whole|is missing/],
    ['a member no image accounts for', () => file(tarOf(good().a.members.concat({ name: 'blobs/sha256/' + 'e'.repeat(64), content: HOST_KEY }))), /belongs to no image/],
    [
      'a layer of an unknown media type',
      () => {
        const { a } = good();
        const index = a.members.find((m) => m.name === 'index.json')!;
        index.content = JSON.stringify({ schemaVersion: 2, manifests: [{ ...a.images[0], mediaType: 'application/x-surprise' }] });
        return file(tarOf(a.members));
      },
      /unknown media type/,
    ],
    ['a missing index.json', () => file(tarOf(good().a.members.filter((m) => m.name !== 'index.json'))), /index\.json.*is missing/],
    [
      'index.json that is not JSON',
      () => {
        const { a } = good();
        a.members.find((m) => m.name === 'index.json')!.content = '{ nope';
        return file(tarOf(a.members));
      },
      /is not JSON/,
    ],
    ['a member twice', () => file(tarOf([...good().a.members, { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }])), /appears twice/],
  ])('%s', async (_name, make, message) => {
    const path = make();
    const error = await auditArtifact(path, { tools: HOST_TOOLBOX }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    const r = spawnSync('node', [cli, 'audit', path], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the content scan', () => {
  it('sees a key split between two chunks, wherever the cut falls', () => {
    const text = Buffer.from(`xx${HOST_KEY}`);
    for (let cut = 1; cut < text.length; cut++) {
      const s = new SecretScanner();
      s.push(text.subarray(0, cut));
      s.push(text.subarray(cut));
      expect([...s.found], String(cut)).toEqual(['pem-private-key']);
    }
  });
});

/**
 * Damaged archives (truncated, bit-flipped, members reordered or dropped) around one planted host
 * key: the audit either names a finding or refuses with a UsageError; it never crashes, hangs or
 * answers clean. CI runs a fixed seed; `BOXES_FUZZ_RUNS=2000 BOXES_FUZZ_SEED=random` runs longer.
 */
describe('mutation fuzzing of the OCI reader', () => {
  const b = new ArchiveBuilder();
  const base = b.archive([
    b.image([
      { members: [...CLEAN, { name: 'etc/ssh/ssh_host_rsa_key', content: HOST_KEY }] },
      { members: [{ name: 'usr/bin/tool', content: 'x'.repeat(3000) }], compression: 'zstd' },
    ]),
  ]);
  const bytes = tarOf(base.members);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: bytes.length - 1 }) }),
    fc.record({
      kind: fc.constant('flip' as const),
      flips: fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('reorder' as const), order: fc.shuffledSubarray([...base.members.keys()], { minLength: base.members.length, maxLength: base.members.length }) }),
    fc.record({ kind: fc.constant('drop' as const), index: fc.nat({ max: base.members.length - 1 }) }),
  );
  type Mutation =
    { kind: 'truncate'; at: number } | { kind: 'flip'; flips: { at: number; bit: number }[] } | { kind: 'reorder'; order: number[] } | { kind: 'drop'; index: number };
  function apply(m: Mutation): Buffer {
    if (m.kind === 'truncate') return bytes.subarray(0, m.at);
    if (m.kind === 'flip') {
      const copy = Buffer.from(bytes);
      for (const f of m.flips) copy[f.at]! ^= 1 << f.bit;
      return copy;
    }
    if (m.kind === 'reorder') return tarOf(m.order.map((i) => base.members[i]!));
    return tarOf(base.members.filter((_, i) => i !== m.index));
  }
  const runs = Number(process.env.BOXES_FUZZ_RUNS ?? 150);
  const seed = process.env.BOXES_FUZZ_SEED === 'random' ? Date.now() : Number(process.env.BOXES_FUZZ_SEED ?? 20261202);

  it(`never crashes, hangs or answers clean (${runs} runs, seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const path = file(apply(m));
        const started = Date.now();
        const outcome = await auditArtifact(path, { tools: HOST_TOOLBOX }).then(
          (r) => (r.findings.length > 0 ? 'finding' : 'clean'),
          (e: unknown) => (e instanceof UsageError ? 'refused' : e),
        );
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(outcome === 'finding' || outcome === 'refused', `${m.kind}: ${String(outcome)}`).toBe(true);
      }),
      { numRuns: runs, seed, timeout: 15_000 },
    );
  }, 600_000);

  it.each([
    ["a parser's literal followed by code (Python cryptography)", '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n_SK_END = b"-----END OPENSSH PRIVATE KEY-----"\n'],
    ['a literal ended by a NUL (a C string)', '-----BEGIN RSA PRIVATE KEY-----\u0000-----END RSA PRIVATE KEY-----\u0000'],
    ['a BEGIN line alone', '-----BEGIN PGP PRIVATE KEY BLOCK-----\n'],
  ])('finds no key in %s', (_what, text) => {
    const s = new SecretScanner();
    s.push(Buffer.from(text));
    expect(s.secret).toBe(false);
  });

  it('finds a key with armor headers (an encrypted PEM key)', () => {
    const s = new SecretScanner();
    s.push(
      Buffer.from(
        '-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: AES-128-CBC,0123456789ABCDEF\r\n\r\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\r\n',
      ),
    );
    expect([...s.found]).toEqual(['pem-private-key']);
  });
});
