// `boxes audit` on small artifacts of every kind: clean ones pass; each planted problem (host key,
// machine-id, history, setuid file, unlocked root, ...) exits 1 naming the file and the rule.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { optionsFor, recordOf } from '../support/records.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditArtifact } from '../../src/audit/audit-artifact.js';
import { HOST_TOOLBOX } from '../../src/system/toolbox.js';
import { parseListings } from '../../src/audit/ext-view.js';
import { ALLOWED_PASSWORDS, audit, RULES } from '../../src/audit/rules.js';
import { UsageError } from '../../src/system/errors.js';
import { boxesInProcess } from '../support/in-process.js';
import type { FileEntry, FsView } from '../../src/audit/view.js';
import { diskImage, multiPartitionDisk, ociArchive, PLANTED, rootTree, vagrantBox, type Plant } from '../support/artifact-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-audit-test-'));
const boxesAudit = (...paths: string[]) => boxesInProcess(['audit', ...paths]);

/** The build record `boxes build` would write beside the artifact, for this profile. */
function writeRecordFor(artifact: string, profile: string) {
  const sha256 = createHash('sha256').update(readFileSync(artifact)).digest('hex');
  writeFileSync(`${artifact}.manifest.json`, JSON.stringify(recordOf(optionsFor(profile), { name: basename(artifact), sha256 })));
}

const KINDS = {
  container: (tree: string, n: string) => ociArchive([tree], join(dir, `Debian-13-x86_64-container-base-${n}.tar`)),
  qcow2: (tree: string, n: string) => diskImage(tree, join(dir, `Debian-13-x86_64-cloudimg-${n}.qcow2`), 'qcow2'),
  raw: (tree: string, n: string) => diskImage(tree, join(dir, `disk-${n}.raw`), 'raw'),
  box: (tree: string, n: string) => vagrantBox(tree, join(dir, `Debian-13-x86_64-libvirt-${n}.box`)),
};

describe.each(Object.entries(KINDS))('audit of a %s', (kind, make) => {
  it('passes a clean artifact', async () => {
    const r = await auditArtifact(make(rootTree(), 'clean'), { tools: HOST_TOOLBOX });
    expect(r.findings).toEqual([]);
    expect(r.entries).toBeGreaterThan(10);
  });

  it.each(Object.keys(PLANTED) as Plant[])('names the file and rule of a planted %s', async (plant) => {
    const r = await auditArtifact(make(rootTree(plant), plant), { tools: HOST_TOOLBOX });
    const { rule, path } = PLANTED[plant];
    expect(r.findings, kind).toEqual([expect.objectContaining({ rule, path })]);
  });
});

describe('boxes audit command', () => {
  it.each([
    ['container', 'history'],
    ['qcow2', 'setuid'],
    ['box', 'root-password'],
  ] as const)('exits 1 on a %s with a planted %s, one line naming rule and file', async (kind, plant) => {
    const r = await boxesAudit(KINDS[kind](rootTree(plant), `cli-${plant}`));
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const { rule, path } = PLANTED[plant];
    expect(r.stdout.trim()).toMatch(new RegExp(`^[^:]+: ${rule}: ${path.replace(/\./g, '\\.')}: .+$`));
    expect(r.stderr).toMatch(/boxes: audit found 1 problem in 1 of 1 artifacts/);
  });

  it('exits 0 on clean artifacts and says so', async () => {
    const r = await boxesAudit(join(dir, 'Debian-13-x86_64-container-base-clean.tar'), join(dir, 'Debian-13-x86_64-cloudimg-clean.qcow2'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Debian-13-x86_64-container-base-clean\.tar: clean \(\d+ entries checked\)\nDebian-13-x86_64-cloudimg-clean\.qcow2: clean/);
  });
});

describe('audit', () => {
  it('finds a key that a later layer deletes: every pull still ships it, and the finding names the layer', async () => {
    const upper = mkdtempSync(join(tmpdir(), 'boxes-upper-'));
    mkdirSync(join(upper, 'etc/ssh'), { recursive: true });
    writeFileSync(join(upper, 'etc/ssh/.wh.ssh_host_ed25519_key'), '');
    const findings = (await auditArtifact(ociArchive([rootTree('host-key'), upper], join(dir, 'whiteout.tar')), { tools: HOST_TOOLBOX })).findings;
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'ssh-host-key', path: '/etc/ssh/ssh_host_ed25519_key', layer: expect.stringMatching(/^layer 1 of 2 \(sha256:[0-9a-f]{12}…\)$/) }),
    ]);
  });

  it("allows the basic image's documented user password only by its build record, never by its file name", async () => {
    const tree = rootTree('user-password');
    const disk = diskImage(tree, join(dir, 'Debian-13-x86_64-basic-1.qcow2'), 'qcow2');
    // Named like a basic image, but no record says it is one: no exceptions.
    expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'password', path: '/etc/shadow' })]);
    writeRecordFor(disk, 'basic');
    expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([]);
    // The same record beside other bytes grants nothing.
    const other = diskImage(rootTree('user-password'), join(dir, 'other.qcow2'), 'qcow2');
    cpSync(`${disk}.manifest.json`, `${other}.manifest.json`);
    expect((await auditArtifact(other, { tools: HOST_TOOLBOX })).findings).toHaveLength(1);
    // A record naming the container profile grants nothing either.
    const archive = ociArchive([tree], join(dir, 'Debian-13-x86_64-basic-2.tar'));
    writeRecordFor(archive, 'container');
    expect((await auditArtifact(archive, { tools: HOST_TOOLBOX })).findings).toHaveLength(1);
  });

  describe('disks: every partition, every directory, nothing outside the image', () => {
    const ROOT = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';
    const tree = (files: Record<string, string>) => {
      const t = mkdtempSync(join(tmpdir(), 'boxes-part-'));
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(t, path, '..'), { recursive: true });
        writeFileSync(join(t, path), text);
      }
      return t;
    };

    it('reads a /home partition by its GPT type', async () => {
      const disk = multiPartitionDisk(
        [
          { tree: rootTree(), type: ROOT },
          { tree: tree({ 'debian/.bash_history': 'ls\n' }), type: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915' },
        ],
        join(dir, 'home.raw'),
      );
      expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'shell-history', path: '/home/debian/.bash_history' })]);
    });

    it("places a Linux data partition where the root's /etc/fstab mounts it", async () => {
      const root = rootTree();
      writeFileSync(join(root, 'etc/fstab'), 'PARTUUID=6b1f3c2e-3a55-4d4b-9c4e-1f2a3b4c5d6e /srv/data ext4 defaults 0 2\n');
      const disk = multiPartitionDisk(
        [
          { tree: root, type: ROOT },
          { tree: tree({ '.netrc': 'machine x login a password b\n' }), type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: '6B1F3C2E-3A55-4D4B-9C4E-1F2A3B4C5D6E' },
        ],
        join(dir, 'fstab.raw'),
      );
      expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'credentials', path: '/srv/data/.netrc' })]);
    });

    it('refuses a Linux partition it cannot read', async () => {
      const disk = multiPartitionDisk(
        [
          { tree: rootTree(), type: ROOT },
          { tree: tree({ x: 'x' }), type: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915' },
        ],
        join(dir, 'unreadable.raw'),
      );
      execFileSync('dd', ['if=/dev/zero', `of=${disk}`, 'bs=1M', 'seek=25', 'count=4', 'conv=notrunc', 'status=none']);
      const error = await auditArtifact(disk, { tools: HOST_TOOLBOX }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(/holds no filesystem debugfs can read/);
    });

    it('reads a directory whose name holds a quote, and what is inside it', async () => {
      const root = rootTree();
      mkdirSync(join(root, 'root/we "hide" here/.ssh'), { recursive: true });
      writeFileSync(join(root, 'root/we "hide" here/.ssh/id_rsa'), 'key\n');
      expect((await auditArtifact(diskImage(root, join(dir, 'quoted.qcow2'), 'qcow2'), { tools: HOST_TOOLBOX })).findings).toEqual([
        expect.objectContaining({ rule: 'private-key', path: '/root/we "hide" here/.ssh/id_rsa' }),
      ]);
    });

    it.each([
      [
        'a backing file',
        (d: string) => execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', diskImage(rootTree(), join(d, 'base.raw'), 'raw'), '-F', 'raw', join(d, 'overlay.qcow2')]),
        'overlay.qcow2',
        /not self-contained: it names a backing file/,
      ],
      [
        'an external data file',
        (d: string) =>
          execFileSync('qemu-img', [
            'create',
            '-q',
            '-f',
            'qcow2',
            '-o',
            `data_file=${diskImage(rootTree(), join(d, 'data.raw'), 'raw')},data_file_raw=on`,
            join(d, 'external.qcow2'),
            '32M',
          ]),
        'external.qcow2',
        /not self-contained: it names a data file/,
      ],
    ])('refuses a qcow2 with %s, reading nothing of it', async (_what, make, name, message) => {
      const d = mkdtempSync(join(tmpdir(), 'boxes-backing-'));
      make(d);
      const r = await boxesAudit(join(d, name));
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  it('exits 2 with one line for a directory', async () => {
    const r = await boxesAudit(dir);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is not a file/);
  });

  it('reports every artifact, and exits 2 on a file of unknown type before reading any', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    const r = await boxesAudit(join(dir, 'Debian-13-x86_64-container-base-clean.tar'), text);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('boxes: notes.txt is of an unknown type (boxes audit reads OCI archives (.tar), qcow2 or raw disks and Vagrant boxes)');
    expect(r.stdout).toBe('');
    expect((await boxesAudit()).status).toBe(2);
  });
});

const view = (entries: Partial<FileEntry>[], contents: Record<string, string> = {}): FsView => ({
  entries: new Map(entries.map((e) => [e.path!, { type: 'file', mode: 0o644, uid: 0, size: 1, ...e } as FileEntry])),
  content: (p) => (contents[p] === undefined ? undefined : Buffer.from(contents[p]!)),
});

describe('audit rules', () => {
  it("are the README's rules table, rule for rule, and its exceptions are the table's", () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| rule | fails on |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    expect(rows.map((r) => /^\| `([a-z-]+)` \|/.exec(r)?.[1])).toEqual(RULES.map((r) => r.name));
    const exceptions = readme.slice(readme.indexOf('The documented exceptions come from'));
    const paragraph = exceptions.slice(0, exceptions.indexOf('\n\n'));
    for (const login of new Set(Object.values(ALLOWED_PASSWORDS).flat())) expect(paragraph).toContain(`\`${login}\``);
  });

  it.each([
    [{ path: 'var/cache/apt/archives/bash_5.2_amd64.deb' }, 'package-cache'],
    [{ path: 'var/lib/pacman/sync/core.db' }, 'package-cache'],
    [{ path: 'var/log/pacman.log' }, 'package-log'],
    [{ path: 'var/log/apt/history.log' }, 'package-log'],
    [{ path: 'home/arch/.ssh/id_ed25519' }, 'private-key'],
    [{ path: 'var/lib/dbus/machine-id' }, 'machine-id'],
    [{ path: 'srv', type: 'dir', mode: 0o777 }, 'world-writable'],
  ] as const)('%j breaks %s', (entry, rule) => {
    const findings = audit(view([entry as Partial<FileEntry>], { 'var/lib/dbus/machine-id': 'abc\n' }), {});
    expect(findings.map((f) => f.rule)).toEqual([rule]);
  });

  it.each([
    [{ path: 'tmp', type: 'dir', mode: 0o1777 }],
    [{ path: 'var/spool/x', type: 'dir', mode: 0o1777 }],
    [{ path: 'usr/bin/sh', type: 'symlink', mode: 0o777 }],
    [{ path: 'var/lib/apt/lists/lock' }],
    [{ path: 'home/vagrant/.ssh/authorized_keys' }],
  ] as const)('%j is fine', (entry) => {
    expect(audit(view([entry as Partial<FileEntry>]), {})).toEqual([]);
  });

  it('finds a PEM private key by its content', () => {
    expect(
      audit(view([{ path: 'root/server.pem' }], { 'root/server.pem': '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n' }), {}),
    ).toEqual([{ rule: 'private-key', path: '/root/server.pem', detail: 'holds a PEM private key' }]);
  });

  it('reads debugfs listings by inode, and refuses a line it cannot read', () => {
    const out =
      'debugfs: ls -p <2>\n/2/040755/0/0/.//\n/2/040755/0/0/..//\n/12/040755/0/0/etc//\n\ndebugfs: ls -p <40>\n/21/104755/0/0/su/35664/\n/20/120777/0/0/sh/4/\n/22/100644/0/0/a "quoted" name/3/\n';
    const l = parseListings(out);
    expect(l.get(2)).toEqual([{ inode: 12, name: 'etc', mode: 0o40755, uid: 0, size: 0 }]);
    expect(l.get(40)).toEqual([
      { inode: 21, name: 'su', mode: 0o104755, uid: 0, size: 35664 },
      { inode: 20, name: 'sh', mode: 0o120777, uid: 0, size: 4 },
      { inode: 22, name: 'a "quoted" name', mode: 0o100644, uid: 0, size: 3 },
    ]);
    expect(() => parseListings('debugfs: ls -p <2>\n/5/100644/0/0/half a na\nme/1/\n')).toThrow(UsageError);
  });
});
