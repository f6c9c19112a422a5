#!/usr/bin/env node
/** The `boxes` command line: parses argv, calls the API, and is the one place that sets exit codes. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clean } from './image/clean.js';
import { Command, CommanderError, Option } from 'commander';
import { build } from './image/build.js';
import { exitCodeFor, formatError, printable } from './system/errors.js';
import { hostDistribution } from './artifact/host-distribution.js';
import { formatListing, listing } from './commands/list.js';
import { parseBuildOptions, type BuildOptions, type RawBuildOptions } from './plan/options.js';
import { formatReport, reportJson } from './image/report.js';
import { formatChecks, setup } from './commands/setup.js';
import { parseTestOptions, type RawTestOptions } from './vm/test-options.js';
import { formatTestReport, testImage } from './vm/test-image.js';
import { interruptController } from './system/signals.js';
import { reproduce } from './verify/reproduce.js';
import { formatVerify, NotReproducible, verify } from './verify/verify.js';
import { parseVariations, VARIATIONS } from './verify/variations.js';
import { AuditFailed } from './audit/audit-failed.js';
import { auditArtifact, detectKind, formatAudit } from './audit/audit-artifact.js';
import { UsageError } from './system/errors.js';
import { catalog, parseCatalogOptions, type RawCatalogOptions } from './vagrant/catalog.js';
import { writeFileAtomic } from './system/write-atomic.js';
import { BuildError, ExecutorFailed, InterruptedError, JobFailed } from './system/errors.js';
import { cleanupVm } from './executor/cleanup.js';
import { executorConfig } from './executor/config.js';
import { boxesVersion, boxesVersionSync } from './system/paths.js';
import { PINNED } from './adapters/mkosi.js';
import { jobFromEnv, vmName } from './executor/job.js';
import { executorOptions, type RawExecutorOptions } from './executor/options.js';
import { prepare } from './executor/prepare.js';
import { runStage } from './executor/run-stage.js';
import { sweep } from './executor/sweep.js';
import { parsePublishOptions, type RawPublishOptions } from './publish/options.js';
import { formatPublish, publish } from './publish/publish.js';

/** The options every `boxes executor` command takes, so a runner can pass one list to all. */
function withExecutorOptions(command: Command): Command {
  return command
    .option('--image <image>', 'the libvirt-executor image: a qcow2 file or POOL/VOLUME')
    .option('--connect <uri>', 'libvirt connection (default: qemu:///system)')
    .option('--network <name>', "a libvirt network, or 'user': QEMU user networking with SSH on 127.0.0.1 (default: user)")
    .option('--pool <name>', 'storage pool for the per-job overlay volumes (default: default)')
    .option('--memory <MiB>', 'memory of each VM (default: 2048)')
    .option('--cpus <n>', 'CPUs of each VM (default: 2)')
    .option('--boot-timeout <minutes>', 'how long prepare waits for SSH (default: 10)')
    .option('--state-dir <dir>', 'per-job keys and state (default: $XDG_STATE_HOME/boxes/executor)');
}

/** Under the custom executor, anything boxes could not do is a system failure, not the job's. */
async function asExecutor(f: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const interrupt = interruptController();
  try {
    await f(interrupt.signal);
  } catch (error) {
    if (error instanceof JobFailed || error instanceof ExecutorFailed || error instanceof UsageError || error instanceof InterruptedError) throw error;
    if (error instanceof BuildError) throw new ExecutorFailed(error.message, error.hint, error.logTail);
    throw new ExecutorFailed((error as Error).message);
  } finally {
    interrupt.dispose();
  }
}

const say = (line: string) => process.stderr.write(`boxes executor: ${line}\n`);

/** Options that change what a build proves get a warning line before anything runs. */
function warnAbout(options: BuildOptions): void {
  if (!options.repositoryKeyCheck) process.stderr.write('boxes: warning: repository key checks are off; use this only with local test repositories\n');
  if (options.singleUid && process.getuid?.() !== 0)
    process.stderr.write('boxes: warning: --single-uid: mkosi cannot chown, so files owned by other users or groups become root-owned and artifacts differ from a root build\n');
}

/** The options `boxes build` and `boxes verify` share. */
function withBuildOptions(command: Command, outputDir: string): Command {
  return command
    .option('--profile <profiles>', 'comma-separated profiles (see `boxes list`)')
    .option('--all', 'every profile')
    .option('--distribution <name>', 'arch or debian (default: the host distribution)')
    .option('--release <name>', 'distribution release (Debian default: trixie)')
    .option('--variant <name>', 'container variant: base, base-devel or multilib-devel')
    .option('--mirror <url>', 'package mirror; Arch also takes file:///path local repositories')
    .option('--snapshot <YYYY-MM-DD>', 'pin to a dated archive (Arch: archive.archlinux.org, Debian: snapshot.debian.org)')
    .option('--source-date-epoch <seconds>', 'timestamp for every file and record (default: the snapshot day, else today 00:00 UTC)')
    .option('--seed <uuid>', 'seed for partition and filesystem UUIDs (default: Seed= in mkosi.conf)')
    .option('--build-version <version>', 'version in artifact names (default: YYYYMMDD.0 of SOURCE_DATE_EPOCH)')
    .option('--output-dir <dir>', 'where artifacts go', outputDir)
    .addOption(new Option('--tools-tree <dir>', 'use this tools tree instead of the cached default').hideHelp())
    .option('--no-repository-key-check', 'skip package signature checks (local test repositories only)')
    .option('--keyring-anchor <dir>', "Arch: trust the master keys this anchor certified (scripts/keyring-anchor.sh) instead of the tree's")
    .option('--single-uid', 'rootless without subordinate ids: mkosi maps one uid and cannot chown (file owners differ from a root build)')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--verbose', 'show every command and its output');
}

export function program(): Command {
  const cmd = new Command('boxes')
    .description('Build reproducible, rootless Linux OS images from one mkosi configuration')
    .version(`boxes ${boxesVersionSync()} (mkosi ${PINNED.version} pinned)`, '-V, --version', 'print the version and the pinned mkosi')
    // `boxes catalog --version V` is the catalog's own option: the program's come before the verb.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  cmd
    .command('list')
    .description('profiles, variants, distributions and the artifacts each produces')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      process.stdout.write(o.json ? `${JSON.stringify(listing(), null, 2)}\n` : `${formatListing()}\n`);
    });

  cmd
    .command('setup')
    .description('provision the pinned mkosi and check host prerequisites')
    .option('--check', 'only report; install nothing')
    .action(async (o: { check?: boolean }) => {
      const checks = await setup(Boolean(o.check));
      process.stdout.write(`${formatChecks(checks)}\n`);
      if (checks.some((c) => !c.ok && !c.optional)) process.exitCode = 1;
    });

  cmd
    .command('clean')
    .description('remove the cached package installations (and with --all every cache: downloads, tools trees, mkosi)')
    .option('--all', 'also the package downloads, tools trees, apt sources and the pinned mkosi')
    .option('--single-uid', 'the caches were made by --single-uid builds')
    .action(async (o: { all?: boolean; singleUid?: boolean }) => {
      const removed = await clean({ all: Boolean(o.all), singleUid: o.singleUid });
      process.stdout.write(removed.length ? `${removed.map((d) => `removed ${d}`).join('\n')}\n` : 'nothing to remove\n');
    });

  withBuildOptions(cmd.command('build').description('build images for one or more profiles'), 'output')
    .option('--sign <keyid>', 'sign each artifact with this GnuPG key (<artifact>.sig)')
    .option('--dry-run', 'validate and print the mkosi command lines; build nothing')
    .action(async (raw: RawBuildOptions) => {
      const options = parseBuildOptions(raw, { now: new Date(), hostDistribution: await hostDistribution() });
      warnAbout(options);
      const interrupt = interruptController();
      try {
        const report = await build(options, { signal: interrupt.signal });
        process.stdout.write(options.json ? reportJson(report) : `${formatReport(report, options.dryRun)}\n`);
      } finally {
        interrupt.dispose();
      }
    });

  cmd
    .command('test')
    .description('boot an image or a Vagrant box disk in QEMU (BIOS and UEFI) and check login, sudo, units, guest agent and first-boot identity')
    .option('--profile <profile>', 'which image to test: basic, cloud-init, vagrant-libvirt or vagrant-virtualbox')
    .option('--artifact <path>', 'the image to boot (default: the newest of the profile in --output-dir)')
    .option('--firmware <bios|uefi>', 'boot with this firmware only (default: one BIOS and one UEFI boot)')
    .option('--distribution <name>', 'arch or debian, when the file name does not tell')
    .option('--output-dir <dir>', 'where to look for the image and write serial logs', 'output')
    .option('--check <names>', 'run only these checks, comma-separated; opt-in checks (kernel-upgrade) run only when named')
    .option('--timeout <minutes>', 'time limit for each boot and its checks (default: 15; 45 with kernel-upgrade)')
    .option('--json', 'print the results as JSON on stdout')
    .action(async (raw: RawTestOptions) => {
      const options = parseTestOptions(raw);
      const interrupt = interruptController();
      try {
        const report = await testImage(options, { signal: interrupt.signal, onEvent: (line) => process.stderr.write(`boxes: ${line}\n`) });
        process.stdout.write(raw.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTestReport(report)}\n`);
      } finally {
        interrupt.dispose();
      }
    });

  const noVary = new Option('--no-vary <list>', 'variations to leave out, comma-separated');
  // commander reads --no-X as the negation of --X; this one takes its own list.
  noVary.negate = false;
  withBuildOptions(
    cmd
      .command('verify')
      .description('build twice, the second in another environment (path, filesystem, umask, TZ, locale, hostname, CPUs), compare every artifact, explain differences'),
    'verify',
  )
    .option('--vary <list>', `variations for the second build, comma-separated (default: all of ${VARIATIONS.join(', ')})`)
    .addOption(noVary)
    .option('--bisect', 'on a difference, rebuild once per variation to name the one that causes it')
    .action(async (raw: RawBuildOptions & { vary?: string; noVary?: string; bisect?: boolean }) => {
      const { vary, noVary: without, bisect, ...buildRaw } = raw;
      const variations = { vary, noVary: without, bisect: Boolean(bisect) };
      parseVariations(vary, without);
      const options = parseBuildOptions(buildRaw, { now: new Date(), hostDistribution: await hostDistribution() });
      warnAbout(options);
      const interrupt = interruptController();
      try {
        const report = await verify(options, { signal: interrupt.signal, onEvent: (line) => process.stderr.write(`boxes: verify: ${line}\n`) }, variations);
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVerify(report)}\n`);
        const differ = report.artifacts.filter((r) => !r.identical);
        if (differ.length > 0)
          throw new NotReproducible(
            `${differ.length} of ${report.artifacts.length} artifacts differ between two builds (varied: ${report.variations.map((v) => v.name).join(', ')}): ${differ.map((r) => `${r.artifact.split('/').at(-1)} (${r.where[0] ?? 'see diffoscope'})`).join('; ')}`,
            report.bisect ? undefined : 'pass --bisect to find the variation that causes it',
          );
      } finally {
        interrupt.dispose();
      }
    });

  cmd
    .command('audit')
    .description('check artifacts for shipped secrets and unsafe files without booting them')
    .argument('[artifacts...]', 'OCI archives, qcow2 or raw disks, Vagrant boxes')
    .option('--json', 'print the findings as JSON on stdout')
    .action(async (artifacts: string[], o: { json?: boolean }) => {
      if (artifacts.length === 0) throw new UsageError('say what to audit: boxes audit ARTIFACT...');
      for (const a of artifacts) await detectKind(a);
      const interrupt = interruptController();
      try {
        const reports = [];
        for (const a of artifacts) reports.push(await auditArtifact(a, { signal: interrupt.signal }));
        process.stdout.write(o.json ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map(formatAudit).join('\n')}\n`);
        const count = reports.reduce((n, r) => n + r.findings.length, 0);
        if (count > 0)
          throw new AuditFailed(`audit found ${count} problem${count > 1 ? 's' : ''} in ${reports.filter((r) => r.findings.length).length} of ${reports.length} artifacts`);
      } finally {
        interrupt.dispose();
      }
    });

  cmd
    .command('reproduce')
    .description('rebuild an artifact from its build record (<artifact>.manifest.json) and compare digests')
    .argument('<record>', 'the build record')
    .option('--output-dir <dir>', 'where the rebuilt artifact goes', 'reproduced')
    .option('--ignore-mismatch', "rebuild even when the config tree's commit or mkosi's version differs from the record's")
    .option('--single-uid', 'rootless without subordinate ids: mkosi maps one uid (a root-built record will not be matched)')
    .option('--mirror <url>', "the record's mirror with the credentials the record shows as ***")
    .addOption(new Option('--tools-tree <dir>', 'use this tools tree instead of the cached default').hideHelp())
    .option('--json', 'print the result as JSON on stdout')
    .option('--verbose', 'show every command and its output')
    .action(
      async (record: string, o: { outputDir: string; ignoreMismatch?: boolean; singleUid?: boolean; mirror?: string; toolsTree?: string; json?: boolean; verbose?: boolean }) => {
        const interrupt = interruptController();
        try {
          const r = await reproduce(
            {
              record,
              outputDir: o.outputDir,
              ignoreMismatch: Boolean(o.ignoreMismatch),
              singleUid: Boolean(o.singleUid),
              mirror: o.mirror,
              toolsTree: o.toolsTree,
              json: Boolean(o.json),
              verbose: Boolean(o.verbose),
            },
            { signal: interrupt.signal },
          );
          const a = r.build.artifacts[0]!;
          process.stdout.write(
            o.json
              ? `${JSON.stringify({ artifact: a.path, sha256: a.sha256, digest: a.digest ?? null, identical: r.identical, statement: r.statement }, null, 2)}\n`
              : `Reproduced ${a.path}: sha256 ${a.sha256} matches its record\nVerification statement: ${r.statement}\n`,
          );
        } finally {
          interrupt.dispose();
        }
      },
    );

  cmd
    .command('catalog')
    .description('write Vagrant catalog JSON for .box files, for `vagrant box add URL`')
    .argument('[boxes...]', '.box files (boxes of one distribution; versions are grouped)')
    .option('--name <org/name>', 'the box name users add, e.g. archlinux/archlinux')
    .option('--base-url <url>', 'where the .box files will be served (http://, https:// or file://)')
    .option('--description <text>', 'what the box is (default: the distribution, built with boxes)')
    .option('--version <version>', 'version for boxes whose file names do not carry one')
    .option('--output <file>', 'write the catalog here instead of stdout')
    .action(async (boxes: string[], raw: RawCatalogOptions) => {
      const options = parseCatalogOptions(raw, boxes);
      const text = `${JSON.stringify(await catalog(options), null, 2)}\n`;
      if (options.output) await writeFileAtomic(options.output, text);
      else process.stdout.write(text);
    });

  cmd
    .command('publish')
    .description('push container images to a registry and disk images and Vagrant boxes to a directory or GitLab, only what a second build reproduced')
    .option('--output-dir <dir>', 'the build output to publish (SHA256SUMS, records, verification statements)', 'output')
    .option('--registry <docker://HOST/NAME>', 'push each container archive under its tags (<variant>, <variant>-<version>)')
    .option('--sign-by <fingerprint>', 'sign the pushed images with this GnuPG key (containers simple signing)')
    .option('--sigstore-key <path>', 'sign the pushed images with this sigstore (cosign) private key')
    .option('--sign-passphrase-file <path>', 'passphrase of the signing key')
    .option('--authfile <path>', 'registry credentials (default: the containers auth file)')
    .option('--registries-d <dir>', 'containers registries.d configuration (where signatures are stored)')
    .option('--no-tls-verify', 'talk to the registry over plain HTTP or with unverified certificates (local registries)')
    .option('--boxes <dir|url>', 'a directory, or a GitLab project API URL (https://HOST/api/v4/projects/ID), for disk images, Vagrant boxes and the catalog')
    .option('--gitlab-package <name>', 'the generic package the files go to, one package version per build version (with --boxes URL)')
    .option('--box-name <org/name>', 'the Vagrant box name (default: archlinux/archlinux, debian/<release>)')
    .option('--base-url <url>', 'where a --boxes directory is served from (default: its file:// URL)')
    .option('--include-executor', 'publish the libvirt-executor image too')
    .option('--unverified', 'publish artifacts no second build reproduced (tags and the catalog say so)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (raw: RawPublishOptions) => {
      const options = parsePublishOptions(raw);
      const interrupt = interruptController();
      try {
        const report = await publish(options, { signal: interrupt.signal, onEvent: (line) => process.stderr.write(`boxes: publish: ${line}\n`) });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPublish(report)}\n`);
      } finally {
        interrupt.dispose();
      }
    });

  const executor = cmd.command('executor').description("GitLab Runner's custom executor: one throwaway VM per CI job from the libvirt-executor image");
  withExecutorOptions(executor.command('config').description('print the executor configuration (config_exec)')).action(async () => {
    process.stdout.write(`${JSON.stringify(executorConfig(process.env, await boxesVersion()))}\n`);
  });
  withExecutorOptions(executor.command('prepare').description("boot the job's VM and wait for SSH (prepare_exec)")).action(async (raw: RawExecutorOptions) => {
    const options = await executorOptions(raw);
    await asExecutor(async (signal) => void (await prepare(options, process.env, { signal, say })));
  });
  withExecutorOptions(executor.command('run').description("run one stage's script in the job's VM (run_exec)"))
    .argument('<script>', 'the script GitLab Runner wrote for the stage')
    .argument('<stage>', 'the stage name')
    .action(async (script: string, stage: string, raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      await asExecutor((signal) => runStage(options, script, stage, process.env, { signal, say }));
    });
  withExecutorOptions(executor.command('cleanup').description("remove the job's VM, volume and key, whatever state they are in (cleanup_exec)")).action(
    async (raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      const vm = vmName(jobFromEnv(process.env));
      await asExecutor(async () => {
        const removed = await cleanupVm({ stateDir: options.stateDir, vm, connect: options.connect, pool: options.pool }, AbortSignal.timeout(300_000));
        say(`${vm}: ${removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing to remove'}`);
      });
    },
  );
  withExecutorOptions(executor.command('sweep').description('remove VMs, volumes and keys of jobs whose runner died before cleanup'))
    .option('--older-than <hours>', 'only jobs that began this long ago (default: 24)')
    .action(async (raw: RawExecutorOptions) => {
      const options = await executorOptions(raw);
      await asExecutor(async (signal) => {
        const removed = await sweep(options, { signal, say });
        process.stdout.write(removed.length > 0 ? `${removed.join('\n')}\n` : '');
      });
    });

  return cmd;
}

function writeJsonError(exitCode: number, message: string, hint?: string): void {
  process.stdout.write(`${JSON.stringify({ error: { exitCode, message, ...(hint ? { hint: printable(hint) } : {}) } }, null, 2)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      // commander already printed its one line; map it to our usage exit code.
      if (argv.includes('--json')) writeJsonError(2, printable(error.message.replace(/^error: /, '')));
      return 2;
    }
    process.stderr.write(`${formatError(error)}\n`);
    const code = exitCodeFor(error);
    // Bad input under --json: a machine reading stdout gets an error object, never an empty success.
    if (error instanceof UsageError && argv.includes('--json')) writeJsonError(code, printable(error.message), error.hint);
    return code;
  }
}

/** Run as the `boxes` binary (directly or through npm's symlink), not when imported. */
function isBinary(): boolean {
  const invoked = process.argv[1];
  return invoked !== undefined && realpathSync(invoked) === fileURLToPath(import.meta.url);
}

if (isBinary()) process.exit(await main(process.argv.slice(2)));
