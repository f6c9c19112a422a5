/** The environment a post-output hook gets from boxes build for an artifact, as mkosi sets it. */
import { hookEnvironment, type Artifact } from '../../src/artifact/artifact.js';

export function hookEnv(artifact: Artifact): Record<string, string> {
  return Object.fromEntries(hookEnvironment(artifact).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}
