/** `boxes list`: profiles, variants, distributions and the artifact each produces. */
import { DEFAULT_RELEASE, DISTRIBUTIONS, PROFILES } from './profiles.js';

export function listing() {
  return {
    profiles: PROFILES.map((p) => ({ name: p.name, description: p.description, variants: [...p.variants], artifact: p.artifact })),
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
  lines.push('Prefix: Arch-Linux for arch, Debian-<release number> for debian.');
  return lines.join('\n');
}
