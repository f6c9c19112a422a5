// The layering of src/, lowest first: system, adapters (one per external program or format),
// artifact identity, the build plan, then the domain modules, commands, and cli.ts on top. A
// module may import its own layer and those below; each rule names what a layer must not reach.
const below = (...dirs) => `^src/(?!(${dirs.join('|')})/)`;

/** Layer -> the directories it may import (besides itself). */
const LAYERS = {
  system: [],
  adapters: ['system'],
  artifact: ['system', 'adapters'],
  plan: ['system', 'adapters', 'artifact'],
  record: ['system', 'adapters', 'artifact', 'plan'],
  vagrant: ['system', 'adapters', 'artifact', 'plan', 'record'],
  rootless: ['system', 'adapters'],
  audit: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant'],
  vm: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant'],
  image: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant', 'audit', 'rootless'],
  executor: ['system', 'adapters', 'artifact', 'vm'],
  verify: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant', 'audit', 'rootless', 'vm', 'image'],
  publish: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant', 'audit', 'image'],
  setup: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant', 'rootless', 'audit', 'vm', 'image'],
  commands: ['system', 'adapters', 'artifact', 'plan', 'record', 'vagrant', 'rootless', 'audit', 'vm', 'image', 'executor', 'verify', 'publish', 'setup'],
};

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'modules form no cycle', from: {}, to: { circular: true } },
    ...Object.entries(LAYERS).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer}/ imports only ${allowed.length ? allowed.join(', ') : 'itself'} (and packages)`,
      from: { path: `^src/${layer}/` },
      to: { path: below(layer, ...allowed), pathNot: '^node_modules' },
    })),
    { name: 'cli-on-top', severity: 'error', comment: 'only the program imports cli.ts', from: {}, to: { path: '^src/cli\\.ts$' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|node_modules)/' },
  },
};
