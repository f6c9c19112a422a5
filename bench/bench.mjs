#!/usr/bin/env node
// `npm run bench`: how fast boxes builds the matrix, measured side by side on this machine.
//   P1  boxes build --all  vs  the sum of plain `mkosi build`s of every target (same tree, tools tree, downloads)
//   P2  boxes build --profile container  vs  the bare mkosi command it prints
//   P3  rebuild after one extra-tree file changed  vs  a cold build of that profile (basic)
//   P4  the container archive's size and packing time  vs  tar --sort=name | gzip -n of the same tree
//   P5  each qcow2's size  vs  qemu-img convert -c of the same raw disk
//   P6  --qcow2-compression zstd vs zlib (the default): compression time and size of the same raw disk
//   P7  boxes build --all side by side (--jobs = the CPUs) vs the same one at a time (--jobs 1)
//   T1  a program started from the tools tree through mkosi's sandbox vs the host's own copy
//   T2  the tools tree built cold (downloads included), once: time and size
// Usage: npm run bench -- [--distribution debian] [--runs N] [--only P1,P3] [--work DIR]
// Prints one table; each figure has its runs' min and median. Timed builds use a fresh install
// cache of their own (BOXES_CACHE_DIR below --work) and share the user's downloads, tools tree and mkosi.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist/cli.js');
const { cacheRoot } = await import(join(root, 'dist/system/paths.js'));
const { treeParts } = await import(join(root, 'dist/verify/verify.js'));
const { openToolbox } = await import(join(root, 'dist/image/toolbox.js'));
// Every program boxes runs comes from the tools tree; the figures run theirs from there too.
const tools = await openToolbox({ say: (line) => process.stderr.write(`bench: ${line}\n`) });

const { values: opts } = parseArgs({
  options: {
    distribution: { type: 'string', default: 'debian' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'P1,P2,P3,P4,P5,P6,P7,T1,T2' },
    work: { type: 'string', default: '/var/tmp/boxes-bench' },
  },
});
const runs = Math.max(1, Number(opts.runs));
const only = new Set(opts.only.split(','));
const dist = opts.distribution;
const epoch = '1763856000';
const work = resolve(opts.work);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** A cache root with the user's downloads, tools trees, apt sources and mkosi, and an empty install cache. */
function freshCache() {
  const real = cacheRoot();
  const dir = mkdtempSync(join(work, 'cache-'));
  for (const part of ['mkosi', 'tools', 'sandbox', 'packages']) {
    mkdirSync(join(real, part), { recursive: true });
    symlinkSync(join(real, part), join(dir, part));
  }
  return dir;
}

function timed(argv, env = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ').slice(0, 300)} exited ${r.status}\n${(r.stderr ?? '').slice(-3000)}`);
  return { seconds, stdout: r.stdout };
}

function boxes(args, cache, cliPath = cli) {
  const { seconds, stdout } = timed(['node', cliPath, 'build', '--source-date-epoch', epoch, '--distribution', dist, '--json', ...args], { BOXES_CACHE_DIR: cache });
  return { seconds, report: JSON.parse(stdout) };
}

/** The bare mkosi command boxes ran, writing to OUT; `incremental: false` drops boxes' cache flag. */
function bareMkosi(command, out, { incremental = true, cacheDir } = {}) {
  let cmd = command.replace(/--output-directory=\S+/, `--output-directory=${out}`);
  if (cacheDir) cmd = cmd.replace(/--cache-directory=\S+/, `--cache-directory=${cacheDir}`);
  if (!incremental) cmd = cmd.replace(' --incremental=yes', '');
  mkdirSync(out, { recursive: true });
  return timed(['bash', '-c', cmd]).seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const min = (xs) => Math.min(...xs);
const fmt = (s) => (s >= 100 ? s.toFixed(0) : s.toFixed(1));
const rows = [];
function row(name, what, ratio, target, detail) {
  rows.push({ name, what, ratio, target, detail });
  log(`${name} ${what}: ${Number.isFinite(ratio) ? ratio.toFixed(3) : '-'} (${detail})`);
}
const times = (xs) => `min ${fmt(min(xs))} s, median ${fmt(median(xs))} s, n=${xs.length}`;

let allReport;

if (only.has('P1')) {
  const ours = [];
  const plain = [];
  for (let i = 0; i < runs; i++) {
    // boxes first: any download the cache still lacks is counted against boxes, not mkosi.
    const b = boxes(['--all', '--output-dir', join(work, `p1-boxes-${i}`)], freshCache());
    ours.push(b.seconds);
    allReport = b.report;
    let sum = 0;
    for (const [j, a] of b.report.artifacts.entries()) sum += bareMkosi(a.mkosiCommand, join(work, `p1-mkosi-${i}-${j}`), { incremental: false, cacheDir: mkdtempSync(join(work, 'plain-cache-')) });
    plain.push(sum);
    for (const [j] of b.report.artifacts.entries()) rmSync(join(work, `p1-mkosi-${i}-${j}`), { recursive: true, force: true });
    log(`P1 run ${i + 1}: boxes --all ${fmt(b.seconds)} s, plain mkosi sum ${fmt(sum)} s`);
  }
  row('P1', `boxes build --all --distribution ${dist} (${allReport.artifacts.length} artifacts) / sum of plain mkosi builds`, median(ours) / median(plain), '<= 0.4', `boxes ${times(ours)}; mkosi ${times(plain)}`);
}

if (only.has('P7')) {
  const beside = [];
  const alone = [];
  for (let i = 0; i < runs; i++) {
    // Each from an empty install cache, so both install the same package sets.
    alone.push(boxes(['--all', '--jobs', '1', '--output-dir', join(work, `p7-alone-${i}`)], freshCache()).seconds);
    beside.push(boxes(['--all', '--output-dir', join(work, `p7-beside-${i}`)], freshCache()).seconds);
    log(`P7 run ${i + 1}: --jobs ${cpus().length} ${fmt(beside.at(-1))} s, --jobs 1 ${fmt(alone.at(-1))} s`);
  }
  row('P7', `boxes build --all --jobs ${cpus().length} / --jobs 1`, median(beside) / median(alone), '< 1', `side by side ${times(beside)}; one at a time ${times(alone)}`);
}

if (only.has('P2') || only.has('P4')) {
  const cache = freshCache();
  // Warm the install cache: both sides then copy the cached package set.
  const warm = boxes(['--profile', 'container', '--output-dir', join(work, 'p2-warm')], cache);
  const ours = [];
  const bare = [];
  for (let i = 0; i < runs; i++) {
    ours.push(boxes(['--profile', 'container', '--output-dir', join(work, `p2-boxes-${i}`)], cache).seconds);
    bare.push(bareMkosi(warm.report.artifacts[0].mkosiCommand, join(work, `p2-mkosi-${i}`)));
  }
  if (only.has('P2')) row('P2', 'boxes build --profile container / the bare mkosi command it prints', median(ours) / median(bare), '<= 1.03', `boxes ${times(ours)}; mkosi ${times(bare)}`);

  if (only.has('P4')) {
    // The tree mkosi left next to the archive; the hook packs it again, and so does the reference.
    const out = join(work, 'p2-mkosi-0');
    const image = JSON.parse(timed(['bash', '-c', `${warm.report.artifacts[0].mkosiCommand.replace(/ --force build$/, '')} --json summary`]).stdout).Images.at(-1);
    const config = join(work, 'p4-config.json');
    writeFileSync(config, JSON.stringify(image));
    const treeBytes = Number(timed(['du', '-sb', '--apparent-size', join(out, image.Output)]).stdout.split('\t')[0]);
    const hook = [];
    const reference = [];
    let ourSize = 0;
    let refSize = 0;
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(work, 'p4-'));
      symlinkSync(join(out, image.Output), join(dir, image.Output));
      hook.push(timed(['bash', join(root, 'postout/oci-archive.sh')], { ...image.Environment, MKOSI_CONFIG: config, OUTPUTDIR: dir }).seconds);
      ourSize = statSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.tar')))).size;
      const ref = join(dir, 'reference.tar.gz');
      reference.push(timed(['bash', '-c', `tar --create --file=- --directory="${join(out, image.Output)}" --sort=name --numeric-owner --mtime=@${epoch} --clamp-mtime . | gzip -n >"${ref}"`]).seconds);
      refSize = statSync(ref).size;
      rmSync(dir, { recursive: true, force: true });
    }
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    row('P4', 'container archive size / tar --sort=name | gzip -n', ourSize / refSize, '<= 1.0', `${mb(ourSize)} vs ${mb(refSize)}`);
    const through = (s) => treeBytes / 1e6 / s;
    row('P4', 'container packing throughput / the reference', through(median(hook)) / through(median(reference)), '>= 0.8', `hook ${times(hook)} (${through(median(hook)).toFixed(0)} MB/s); reference ${times(reference)} of ${mb(treeBytes)}`);
  }
}

if (only.has('P3')) {
  const cold = [];
  const rebuild = [];
  for (let i = 0; i < runs; i++) {
    const project = mkdtempSync(join(work, 'p3-project-'));
    for (const part of [...(await treeParts(root)), 'dist']) cpSync(join(root, part), join(project, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    const cache = freshCache();
    const projectCli = join(project, 'dist/cli.js');
    cold.push(boxes(['--profile', 'basic', '--output-dir', join(work, `p3-cold-${i}`)], cache, projectCli).seconds);
    appendFileSync(join(project, 'mkosi.vm/mkosi.extra/etc/systemd/network/80-dhcp.network'), `# edited ${i}\n`);
    const again = boxes(['--profile', 'basic', '--output-dir', join(work, `p3-rebuild-${i}`)], cache, projectCli);
    if (again.report.artifacts[0].packages !== 'cached') throw new Error('P3: the rebuild did not reuse the cached package set');
    rebuild.push(again.seconds);
    rmSync(join(work, `p3-cold-${i}`), { recursive: true, force: true });
  }
  row('P3', 'boxes build --profile basic after one extra-tree file changed / cold build', median(rebuild) / median(cold), '<= 0.25', `rebuild ${times(rebuild)}; cold ${times(cold)}`);
}

let disks;
/** The qcow2 images of the matrix (P1's, or a build of the three disk profiles). */
function diskImages() {
  disks ??= allReport
    ? allReport.artifacts.filter((a) => a.path.endsWith('.qcow2'))
    : boxes(['--profile', 'basic,cloud-init,libvirt-executor', '--output-dir', join(work, 'p5')], freshCache()).report.artifacts;
  return disks;
}

if (only.has('P5')) {
  for (const a of diskImages()) {
    const raw = join(work, 'p5.raw');
    const ref = join(work, 'p5-reference.qcow2');
    timed(tools.wrap(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', a.path, raw]));
    const t = timed(tools.wrap(['qemu-img', 'convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, ref])).seconds;
    const [ours, theirs] = [statSync(a.path).size, statSync(ref).size];
    row('P5', `${basename(a.path)} size / qemu-img convert -c`, ours / theirs, '<= 1.1', `${(ours / 2 ** 20).toFixed(0)} MiB vs ${(theirs / 2 ** 20).toFixed(0)} MiB (reference convert ${fmt(t)} s)`);
    rmSync(raw, { force: true });
    rmSync(ref, { force: true });
  }
}

if (only.has('P6')) {
  // The hook's conversion (in order, one writer) with each compression, runs times each.
  const a = diskImages()[0];
  const raw = join(work, 'p6.raw');
  timed(tools.wrap(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', a.path, raw]));
  const measure = (compression) => {
    const seconds = [];
    let size = 0;
    for (let i = 0; i < runs; i++) {
      const out = join(work, `p6-${compression}.qcow2`);
      seconds.push(timed(tools.wrap(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', '-c', '-o', `compression_type=${compression}`, raw, out])).seconds);
      size = statSync(out).size;
      rmSync(out, { force: true });
    }
    return { seconds, size };
  };
  const zlib = measure('zlib');
  const zstd = measure('zstd');
  rmSync(raw, { force: true });
  row('P6', `${basename(a.path)}: zstd / zlib compression time`, median(zstd.seconds) / median(zlib.seconds), 'report', `zstd ${times(zstd.seconds)}; zlib ${times(zlib.seconds)}`);
  row('P6', `${basename(a.path)}: zstd / zlib size`, zstd.size / zlib.size, 'report', `${(zstd.size / 2 ** 20).toFixed(0)} MiB vs ${(zlib.size / 2 ** 20).toFixed(0)} MiB`);
}

if (only.has('T1')) {
  // The sandbox's set-up is paid once per program started: the audit and boxes test start dozens.
  const starts = 20;
  const perStart = (argv) => {
    const seconds = [];
    for (let i = 0; i < runs; i++) {
      let total = 0;
      for (let j = 0; j < starts; j++) total += timed(argv).seconds;
      seconds.push(total / starts);
    }
    return seconds;
  };
  const tree = perStart(tools.wrap(['qemu-img', '--version']));
  const onHost = spawnSync('qemu-img', ['--version']).status === 0;
  const host = onHost ? perStart(['qemu-img', '--version']) : undefined;
  const ms = (xs) => `median ${(median(xs) * 1000).toFixed(0)} ms, min ${(min(xs) * 1000).toFixed(0)} ms`;
  row('T1', 'qemu-img --version from the tools tree (mkosi sandbox) / from the host', host ? median(tree) / median(host) : NaN, 'report', `tree ${ms(tree)}; host ${host ? ms(host) : 'has no qemu-img'}`);
}

if (only.has('T2')) {
  // A cache with nothing but the pinned mkosi: `boxes setup` downloads and builds the tree.
  const cache = mkdtempSync(join(work, 'cache-tools-'));
  symlinkSync(join(cacheRoot(), 'mkosi'), join(cache, 'mkosi'));
  const { seconds } = timed(['node', cli, 'setup'], { BOXES_CACHE_DIR: cache });
  const du = spawnSync('du', ['-sb', join(cache, 'tools')], { encoding: 'utf8' }).stdout.split('\t')[0];
  row('T2', 'the tools tree built cold (downloads included), once', NaN, 'report', `${fmt(seconds)} s, ${(Number(du) / 1e9).toFixed(2)} GB`);
  rmSync(cache, { recursive: true, force: true });
}

const lines = [
  `boxes bench: ${dist}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  '| figure | measured | ratio | target | absolute |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${[r.name, r.what, Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : '-', r.target, r.detail].map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(join(work, 'bench.md'), `${lines.join('\n')}\n`);
