import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** What the unit and host projects share: small tests, no request to a package archive (for the install cache key, or reproduce's check of what it serves), and the host's programs (the host project tests them on fixtures; the tools tree is the integration suites'). */
const small = { testTimeout: 20_000, env: { BOXES_INSTALL_CACHE: 'off', BOXES_ARCHIVE_CHECK: 'off', BOXES_TOOLS: 'host' } };

export default defineConfig({
  test: {
    // Host test files wait on child processes (qemu-img, mkfs, the CLI) much of the time: one
    // worker more than the cores halved them on 2 cores (224 s -> 118 s, unit and host together
    // then). The integration files run one at a time whatever this says (fileParallelism below).
    maxWorkers: availableParallelism() + 1,
    projects: [
      {
        test: {
          // Nothing but Node: TypeScript imported directly, no dist/, and PATH holding node alone.
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/support/scratch.ts', 'test/support/node-only.ts'],
          ...small,
        },
      },
      {
        test: {
          // Small real things: the hooks, the audit and the CLI on fixtures, with the host's
          // qemu-img, mtools, e2fsprogs, tar and gpg, and the built CLI with a fake mkosi.
          name: 'host',
          include: ['test/host/**/*.test.ts'],
          globalSetup: ['test/support/build-cli.ts', 'test/support/scratch.ts'],
          ...small,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/fresh-machine.test.ts'],
          globalSetup: ['test/support/scratch.ts'],
          // Real mkosi builds: minutes each, and they share one cache, so run them one at a time.
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // A machine of its own (scripts/fresh-machine.sh): it shares no cache, directory or
          // service with the integration suites, so it runs beside them, in the CPU time their
          // downloads and single-threaded phases leave idle. It removes its own directory.
          name: 'fresh',
          include: ['test/integration/fresh-machine.test.ts'],
          testTimeout: 60 * 60_000,
          hookTimeout: 60 * 60_000,
        },
      },
    ],
  },
});
