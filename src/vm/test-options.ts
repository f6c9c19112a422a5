/** `boxes test` flags -> validated options; every problem reported at once, one line. */
import { z } from 'zod';
import { DISTRIBUTIONS, PROFILES, findProfile, type Distribution } from '../artifact/profiles.js';
import { UsageError } from '../system/errors.js';
import { optionProblems } from '../system/option-problems.js';
import { CHECKS } from './checks.js';
import type { TestOptions } from './test-image.js';

export interface RawTestOptions {
  profile?: string;
  artifact?: string;
  firmware?: string;
  distribution?: string;
  outputDir?: string;
  timeout?: string;
  check?: string;
  cpus?: string;
  json?: boolean;
}

/** Minutes a boot and its checks get unless --timeout says otherwise; installing a kernel under
 *  TCG (download, initramfs, reboot) needs far more than the default checks. */
export const DEFAULT_TIMEOUT_MINUTES = 15;
export const KERNEL_UPGRADE_TIMEOUT_MINUTES = 45;
const MAX_TIMEOUT_MINUTES = 1440;
const MAX_CPUS = 64;

const names = PROFILES.map((p) => p.name).join(', ');
/** What boots: every profile but the container. */
const bootable = PROFILES.filter((p) => p.kind !== 'container')
  .map((p) => p.name)
  .join(', ');

const schema = z.object({
  profile: z
    .string({ error: `say which image to test: --profile P (one of: ${bootable})` })
    .refine((p) => findProfile(p) !== undefined, { error: (i) => `unknown profile '${String(i.input)}' (valid: ${names})` }),
  artifact: z.string().min(1).optional(),
  firmware: z.enum(['bios', 'uefi'], { error: (i) => `must be bios or uefi, not '${String(i.input)}'` }).optional(),
  distribution: z
    .string()
    .refine((d) => (DISTRIBUTIONS as readonly string[]).includes(d), { error: (i) => `unknown distribution '${String(i.input)}'` })
    .optional(),
  outputDir: z.string().min(1).optional(),
  timeout: z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: 'must be a number of minutes', abort: true })
    .refine((t) => Number(t) > 0 && Number(t) <= MAX_TIMEOUT_MINUTES, { error: `must be more than 0 and at most ${MAX_TIMEOUT_MINUTES} minutes (a day)` })
    .optional(),
  cpus: z
    .string()
    .regex(/^[1-9][0-9]*$/, { error: (i) => `must be a whole number of CPUs, not '${String(i.input)}'`, abort: true })
    .refine((c) => Number(c) <= MAX_CPUS, { error: `must be at most ${MAX_CPUS}` })
    .optional(),
  check: z
    .string()
    .regex(/^[+-]?[a-z-]+(,[+-]?[a-z-]+)*$/, { error: 'takes a comma-separated list of check names, each optionally prefixed + or -, e.g. --check +kernel-upgrade', abort: true })
    .refine((list) => list.split(',').every((n) => CHECKS.some((c) => c.name === n.replace(/^[+-]/, ''))), {
      error: (i) => `unknown check in '${String(i.input)}' (valid: ${CHECKS.map((c) => c.name).join(', ')})`,
    })
    .optional(),
});

export function parseTestOptions(raw: RawTestOptions): TestOptions {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(optionProblems(r.error).join('; '));
  const checks = r.data.check?.split(',');
  const defaultTimeout = checks?.some((c) => c === 'kernel-upgrade' || c === '+kernel-upgrade') ? KERNEL_UPGRADE_TIMEOUT_MINUTES : DEFAULT_TIMEOUT_MINUTES;
  return {
    profile: r.data.profile,
    artifact: r.data.artifact,
    firmware: r.data.firmware,
    distribution: r.data.distribution as Distribution | undefined,
    outputDir: r.data.outputDir ?? 'output',
    checks,
    timeoutMinutes: r.data.timeout === undefined ? defaultTimeout : Number(r.data.timeout),
    cpus: r.data.cpus === undefined ? undefined : Number(r.data.cpus),
  };
}
