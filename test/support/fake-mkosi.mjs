#!/usr/bin/env node
// A stand-in for mkosi in unit tests: records its argv, answers --version and summary, and for
// `build` writes the artifact the real post-output hook would. FAKE_MKOSI_MODE picks behaviours.
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statfsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

const argv = process.argv.slice(2);
const mode = process.env.FAKE_MKOSI_MODE ?? 'ok';
if (process.env.FAKE_MKOSI_RECORD) appendFileSync(process.env.FAKE_MKOSI_RECORD, `${JSON.stringify(argv)}\n`);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

if (argv.includes('--version')) {
  console.log('mkosi 25.3');
  process.exit(0);
}
if (argv.at(-1) === 'summary') {
  console.log(
    JSON.stringify({
      Images: [
        {
          Distribution: flag('--distribution'),
          Release: flag('--release') ?? 'rolling',
          Seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
          Output: 'container',
          ToolsTreeDistribution: 'debian',
          ToolsTreeRelease: 'trixie',
          Environment: {},
        },
      ],
    }),
  );
  process.exit(0);
}
if (argv.at(-1) === 'build') {
  console.log('‣ Building image');
  // FAKE_MKOSI_FAIL_PROFILE=P: only the build of profile P fails, a moment after it started.
  const failing = process.env.FAKE_MKOSI_FAIL_PROFILE;
  if (mode === 'fail' || (failing && flag('--profile') === failing)) {
    if (failing) await new Promise((r) => setTimeout(r, 500));
    console.error('E: Unable to locate package does-not-exist');
    process.exit(1);
  }
  if (mode === 'hang' || mode === 'ignore-term') {
    if (mode === 'ignore-term') process.on('SIGTERM', () => console.log('fake mkosi: ignoring SIGTERM'));
    else
      process.on('SIGTERM', () => {
        console.log('fake mkosi: cleaning up');
        process.exit(143);
      });
    // One file per build: builds side by side each leave their own.
    writeFileSync(join(process.env.FAKE_MKOSI_PIDDIR ?? '/tmp', `fake-mkosi-${process.pid}.pid`), String(process.pid));
    setInterval(() => {}, 1000);
  } else {
    const out = flag('--output-directory');
    // The name boxes tells its hooks (each target its own), unless the test fixes one.
    const told = argv.find((a) => a.startsWith('--environment=BOXES_ARTIFACT='))?.slice('--environment=BOXES_ARTIFACT='.length);
    const name = process.env.FAKE_MKOSI_ARTIFACT ?? told;
    ociArchive(join(out, name), mode === 'environment' ? environment() : `artifact ${argv.join(' ')}\n`);
    writeFileSync(join(out, `${name}.SHA256`), `0  ${name}\n`);
    // Only the container's hook writes a manifest digest.
    if (name.endsWith('.tar')) writeFileSync(join(out, `${name}.digest`), 'sha256:feed\n');
    // mkosi's package manifest (ManifestFormat=json); FAKE_MKOSI_PACKAGES: `name version` pairs
    // an archive that moved on would give instead.
    const packages = (process.env.FAKE_MKOSI_PACKAGES ?? 'bash 5.2.37-2,apt 3.0.3').split(',').map((p) => {
      const [name, version] = p.split(' ');
      return { type: 'deb', name, version, architecture: 'amd64' };
    });
    writeFileSync(join(out, 'container.manifest'), JSON.stringify({ manifest_version: 1, config: {}, packages }));
  }
} else {
  console.error(`fake mkosi: unexpected ${argv.join(' ')}`);
  process.exit(3);
}

/**
 * FAKE_MKOSI_MODE=environment: the build's environment instead of its command line, so that two
 * builds differ exactly where boxes verify varied it (FAKE_MKOSI_FIELDS picks the lines).
 */
function installCache(dir) {
  if (!dir) return 'none';
  mkdirSync(dir, { recursive: true });
  const state = readdirSync(dir).length > 0 ? 'filled' : 'empty';
  writeFileSync(join(dir, 'cached'), '');
  return state;
}

function environment() {
  const workspace = flag('--workspace-directory');
  const facts = {
    umask: process.umask().toString(8).padStart(4, '0'),
    // A directory boxes made under its own umask: a build that copied its mode would leak that umask.
    outputDirMode: (statSync(dirname(flag('--output-directory'))).mode & 0o777).toString(8),
    TZ: process.env.TZ ?? 'unset',
    LANG: process.env.LANG ?? 'unset',
    LC_ALL: process.env.LC_ALL ?? 'unset',
    hostname: hostname(),
    cpus: String(availableParallelism()),
    workspace: workspace && statfsSync(workspace).type === 0x01021994 ? 'tmpfs' : 'not tmpfs',
    // Like mkosi's Incremental=: the first build of a key fills the cache directory, later ones find it.
    cache: installCache(flag('--cache-directory')),
  };
  const fields = process.env.FAKE_MKOSI_FIELDS?.split(',') ?? Object.keys(facts);
  return fields.map((f) => `${f} ${facts[f]}\n`).join('');
}

/** A minimal OCI layout archive: index.json -> manifest -> config with one diff_id. */
function ociArchive(path, payload) {
  const dir = mkdtempSync(join(process.env.FAKE_MKOSI_PIDDIR ?? '/tmp', 'oci-'));
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (text) => {
    const digest = createHash('sha256').update(text).digest('hex');
    writeFileSync(join(dir, 'blobs/sha256', digest), text);
    return { digest: `sha256:${digest}`, size: typeof text === 'string' ? Buffer.byteLength(text) : text.length };
  };
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc/build'), payload);
  if (mode === 'environment')
    for (const [p, m] of [
      ['etc/build', 0o644],
      ['etc', 0o755],
    ]) {
      chmodSync(join(tree, p), m);
      utimesSync(join(tree, p), 1763856000, 1763856000);
    }
  // FAKE_MKOSI_PLANT=path: a file the audit must refuse, e.g. root/.bash_history.
  const plant = process.env.FAKE_MKOSI_PLANT;
  if (plant) {
    mkdirSync(join(tree, plant, '..'), { recursive: true });
    writeFileSync(join(tree, plant), 'planted\n');
  }
  tar.c({ file: join(dir, 'layer.tar'), cwd: tree, sync: true, ...(mode === 'environment' ? { portable: true } : {}) }, plant ? ['etc', plant.split('/')[0]] : ['etc']);
  const layerData = readFileSync(join(dir, 'layer.tar'));
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...blob(layerData) };
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [layer.digest] } })) };
  const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob(JSON.stringify({ schemaVersion: 2, config, layers: [layer] })) };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  // The environment mode's archive depends on nothing but the payload: fixed modes and times.
  const fixed = mode === 'environment' ? { portable: true, mtime: new Date(1763856000_000) } : {};
  if (mode === 'environment') for (const p of ['blobs', 'blobs/sha256']) chmodSync(join(dir, p), 0o755);
  if (mode === 'environment') utimesSync(join(dir, 'oci-layout'), 1763856000, 1763856000);
  tar.c({ file: path, cwd: dir, sync: true, ...fixed }, ['oci-layout', 'index.json', 'blobs']);
}
