/**
 * Before any image is built: each target's resolved configuration and its install cache, read side
 * by side (one `mkosi summary` each), so the schedule knows which targets share a package set.
 */
import type { BuildOptions, BuildTarget } from '../plan/options.js';
import { removeTree } from '../rootless/namespace.js';
import { cachePaths } from '../system/paths.js';
import { holdsInstalledSet, installCacheDir, installCacheKey } from './install-cache.js';
import { readResolvedConfig, summaryArgs } from './mkosi-config.js';
import { mkosiBuildArgs } from './mkosi-args.js';
import { paths, type Session } from './session.js';

export const targetLabel = (t: BuildTarget) => (t.variant ? `${t.profile} (${t.variant})` : t.profile);

export interface TargetPlan {
  target: BuildTarget;
  /** Where mkosi caches this target's installed package set. */
  installDir: string;
  /** Targets with the same key share one package set; undefined: nothing is cached (no install cache). */
  shareKey?: string;
  /** The package set was installed and cached before this build: every target sharing it may start at once. */
  cached: boolean;
}

/**
 * What the scheduler waits on: the share key of a package set still to be installed (its first
 * target installs it, the others wait); a set already cached is only read, so nobody waits for it.
 */
export const waitKey = (p: Pick<TargetPlan, 'shareKey' | 'cached'>) => (p.cached ? undefined : p.shareKey);

export async function planTargets(options: BuildOptions, c: Session, outputDir: string, signal?: AbortSignal): Promise<TargetPlan[]> {
  const images = await Promise.all(
    options.targets.map((target, i) =>
      i === 0 ? c.firstImage : readResolvedConfig(c.mkosi, summaryArgs(mkosiBuildArgs(options, target, paths(c, outputDir, options), c.revision)), signal),
    ),
  );
  const plans: TargetPlan[] = [];
  for (const [i, target] of options.targets.entries()) {
    const image = images[i]!;
    const key = await installCacheKey(image.all, { treeDir: c.treeDir, toolsTree: c.toolsTree, mkosiVersion: c.mkosi.version, buildMode: c.mode.kind, archive: c.archive });
    const installDir = await installCacheDir(c.installCacheRoot ?? cachePaths().mkosiCache, key, (dir) => removeTree(dir, c.mode));
    const shareKey = c.archive === undefined ? undefined : key;
    plans.push({ target, installDir, shareKey, cached: shareKey !== undefined && (await holdsInstalledSet(installDir)) });
  }
  return plans;
}

/** "8 images, 2 at a time; package sets: container (base)'s shared by 2 more, basic's shared by 4 more (cached)". */
export function describeSchedule(plans: readonly Pick<TargetPlan, 'target' | 'shareKey' | 'cached'>[], jobs: number): string {
  const at = Math.min(jobs, plans.length);
  const groups = new Map<string, { labels: string[]; cached: boolean }>();
  for (const p of plans) {
    if (p.shareKey === undefined) continue;
    const group = groups.get(p.shareKey) ?? { labels: [], cached: p.cached };
    group.labels.push(targetLabel(p.target));
    groups.set(p.shareKey, group);
  }
  const shared = [...groups.values()].filter((g) => g.labels.length > 1).map((g) => `${g.labels[0]}'s shared by ${g.labels.length - 1} more${g.cached ? ' (cached)' : ''}`);
  const images = `${plans.length} image${plans.length === 1 ? '' : 's'}, ${at === 1 ? 'one at a time' : `${at} at a time`}`;
  return shared.length > 0 ? `${images}; package sets: ${shared.join(', ')}` : images;
}
