/** Human and JSON summaries of a build. JSON keys are emitted in a fixed order. */
import type { BuildMode } from '../rootless/build-mode.js';
import { describePhases, type Phases } from './phases.js';

export interface ArtifactReport {
  profile: string;
  variant?: string;
  path: string;
  sha256: string;
  /** OCI manifest digest, for container images */
  digest?: string;
  /** The build record and SBOM written next to the artifact (not in dry runs). */
  record?: string;
  sbom?: string;
  /** `--sign`: the detached signature. */
  signature?: string;
  /** Whether mkosi installed the packages or copied the set an earlier build cached. */
  packages?: 'installed' | 'cached';
  /** Seconds per phase of the mkosi build. */
  phases?: Phases['seconds'];
  /** Seconds the whole target took (mkosi, record, audit, delivery). */
  seconds?: number;
  mkosiCommand: string;
}

export interface BuildReport {
  distribution: string;
  release: string;
  sourceDateEpoch: number;
  seed: string;
  buildVersion: string;
  outputDir: string;
  mkosiVersion: string;
  toolsTree: string;
  /** root, subordinate-ids (rootless, fully mapped) or single-uid */
  buildMode: BuildMode['kind'];
  artifacts: ArtifactReport[];
  sha256sums?: string;
}

export function formatReport(r: BuildReport, dryRun: boolean): string {
  const lines = [
    `${dryRun ? 'Would build' : 'Built'} ${r.distribution} ${r.release} into ${r.outputDir}`,
    `  SOURCE_DATE_EPOCH ${r.sourceDateEpoch} (${new Date(r.sourceDateEpoch * 1000).toISOString()})`,
    `  seed              ${r.seed}`,
    `  build version     ${r.buildVersion}`,
    `  mkosi             ${r.mkosiVersion}`,
    `  tools tree        ${r.toolsTree}`,
    `  build mode        ${r.buildMode}`,
  ];
  for (const a of r.artifacts) {
    lines.push(`${a.path}`);
    if (a.sha256) lines.push(`  sha256 ${a.sha256}`);
    if (a.digest) lines.push(`  manifest digest ${a.digest}`);
    if (a.record) lines.push(`  record ${a.record}`);
    if (a.packages && a.phases) lines.push(`  ${describePhases({ packages: a.packages, seconds: a.phases })}; ${a.seconds} s in all`);
    if (dryRun) lines.push(`  ${a.mkosiCommand}`);
  }
  return lines.join('\n');
}

export function reportJson(r: BuildReport): string {
  return `${JSON.stringify(
    {
      distribution: r.distribution,
      release: r.release,
      sourceDateEpoch: r.sourceDateEpoch,
      seed: r.seed,
      buildVersion: r.buildVersion,
      outputDir: r.outputDir,
      mkosiVersion: r.mkosiVersion,
      toolsTree: r.toolsTree,
      buildMode: r.buildMode,
      sha256sums: r.sha256sums ?? null,
      artifacts: r.artifacts.map((a) => ({
        profile: a.profile,
        variant: a.variant ?? null,
        path: a.path,
        sha256: a.sha256,
        digest: a.digest ?? null,
        record: a.record ?? null,
        sbom: a.sbom ?? null,
        signature: a.signature ?? null,
        packages: a.packages ?? null,
        phases: a.phases ?? null,
        seconds: a.seconds ?? null,
        mkosiCommand: a.mkosiCommand,
      })),
    },
    null,
    2,
  )}\n`;
}
