/** `boxes list`: profiles, variants, distributions and the artifact each produces. */
import { composeName } from './artifact.js';
import { DEFAULT_RELEASE, DISTRIBUTIONS, PROFILES, type ProfileSpec } from './profiles.js';

/** The name pattern of a profile's artifacts, from the same code that names them. */
export const artifactPattern = (p: ProfileSpec) =>
  composeName({ prefix: '<Prefix>', architecture: '<arch>', profile: p.name, variant: p.variants.length > 0 ? '<variant>' : undefined, version: '<version>' });

export function listing() {
  return {
    profiles: PROFILES.map((p) => ({ name: p.name, description: p.description, variants: [...p.variants], artifact: artifactPattern(p) })),
    distributions: DISTRIBUTIONS.map((d) => ({ name: d, defaultRelease: DEFAULT_RELEASE[d] })),
  };
}

export function formatListing(): string {
  const l = listing();
  const lines = ['Profiles:'];
  for (const p of l.profiles) {
    lines.push(`  ${p.name.padEnd(18)} ${p.description}`);
    if (p.variants.length) lines.push(`  ${''.padEnd(18)} variants: ${p.variants.join(', ')} (default ${p.variants[0]})`);
    lines.push(`  ${''.padEnd(18)} produces: ${p.artifact}`);
  }
  lines.push('Distributions:');
  for (const d of l.distributions) lines.push(`  ${d.name.padEnd(18)} default release: ${d.defaultRelease}`);
  lines.push('Prefix: Arch-Linux for arch, Debian-<release number> for debian; arch: x86_64.');
  return lines.join('\n');
}
