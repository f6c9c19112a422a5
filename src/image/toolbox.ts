/**
 * The toolbox every command runs its programs from: the pinned tools tree (built on first use,
 * exactly as a build builds it) through mkosi's sandbox. `BOXES_TOOLS=host` takes the host's
 * programs instead, for the tests that exercise the host's tools on fixtures.
 */
import { findMkosi, mkosiSandboxScript, provisionMkosi, type Mkosi } from '../adapters/mkosi.js';
import { readSandboxLayout, sandboxPrefix } from '../adapters/mkosi-sandbox.js';
import { detectBuildMode, mkosiFor } from '../rootless/namespace.js';
import { PrerequisiteError, UsageError } from '../system/errors.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { TREE_DIR } from '../system/paths.js';
import { HOST_TOOLBOX, treeToolbox, type Toolbox } from '../system/toolbox.js';
import { readResolvedConfig } from './mkosi-config.js';
import { ensureToolsTree, type ToolsTreeSpec } from './tools-tree.js';

export interface ToolboxIo {
  signal?: AbortSignal;
  logFile?: string;
  echo?: boolean;
  /** Called before a first-use step that takes a while (downloading mkosi, building the tree). */
  say?: (line: string) => void;
}

export const hostToolsAsked = (env: NodeJS.ProcessEnv = process.env) => env.BOXES_TOOLS === 'host';

/** The tools tree's settings as mkosi.conf resolves them (no profile changes them). */
export async function toolsTreeSpec(mkosi: Mkosi, signal?: AbortSignal): Promise<ToolsTreeSpec> {
  const image = await readResolvedConfig(mkosi, ['--directory', TREE_DIR], signal);
  if (!image.ToolsTreeDistribution || !image.ToolsTreeRelease) throw new UsageError('mkosi.conf names no ToolsTreeDistribution= and ToolsTreeRelease=', 'set them in mkosi.conf');
  return { distribution: image.ToolsTreeDistribution, release: image.ToolsTreeRelease, mirror: image.ToolsTreeMirror ?? undefined, packages: image.ToolsTreePackages ?? [] };
}

/** The sandboxed toolbox over a tools tree that exists. */
export async function toolboxOver(tree: string, mkosi: Pick<Mkosi, 'source' | 'env'>): Promise<Toolbox> {
  if (hostToolsAsked()) return HOST_TOOLBOX;
  return treeToolbox(tree, sandboxPrefix(await readSandboxLayout(tree, await mkosiSandboxScript(mkosi))));
}

/** A build's mode where this user has one; the tools tree needs no chown, so single-uid otherwise. */
async function toolsTreeMode(signal?: AbortSignal): Promise<BuildMode> {
  try {
    return await detectBuildMode({ singleUid: false, signal });
  } catch (error) {
    if (!(error instanceof PrerequisiteError)) throw error;
    return { kind: 'single-uid' };
  }
}

/** The toolbox over a tree a build used (its report names it), with the mkosi that built it. */
export async function toolboxFor(tree: string): Promise<Toolbox> {
  if (hostToolsAsked()) return HOST_TOOLBOX;
  const mkosi = await findMkosi();
  if (!mkosi) throw new PrerequisiteError('no mkosi to run the tools tree with', 'run `boxes setup`');
  return toolboxOver(tree, mkosi);
}

let opened: Promise<Toolbox> | undefined;

/** The default toolbox: mkosi provisioned and the tools tree built when they are not yet; once per process. */
export function openToolbox(io: ToolboxIo = {}): Promise<Toolbox> {
  if (hostToolsAsked()) return Promise.resolve(HOST_TOOLBOX);
  opened ??= (async () => {
    let mkosi = await findMkosi();
    if (!mkosi) {
      io.say?.('downloading the pinned mkosi (first use)');
      mkosi = await provisionMkosi({ signal: io.signal, logFile: io.logFile });
    }
    const mode = await toolsTreeMode(io.signal);
    const spec = await toolsTreeSpec(mkosi, io.signal);
    const tree = await ensureToolsTree(mkosiFor(mkosi, mode), spec, { mode, signal: io.signal, logFile: io.logFile, echo: io.echo, onBuild: io.say });
    return toolboxOver(tree.path, mkosi);
  })();
  // A failed or interrupted attempt is not remembered: the next call tries again.
  opened.catch((_reportedToCaller: unknown) => (opened = undefined));
  return opened;
}
