/** Which progress renderer to use: a pure function of the situation (tested as a table). */

export type RendererChoice = 'default' | 'verbose' | 'silent';

export interface RendererSituation {
  json: boolean;
  verbose: boolean;
  ci: boolean;
  tty: boolean;
}

export function chooseRenderer(s: RendererSituation): RendererChoice {
  // stdout carries the JSON document; nothing else may go there.
  if (s.json) return 'silent';
  // Logs and pipes want one line per event, not redrawn spinners.
  if (s.verbose || s.ci || !s.tty) return 'verbose';
  return 'default';
}

export function currentSituation(flags: { json: boolean; verbose: boolean }): RendererSituation {
  return {
    ...flags,
    ci: Boolean(process.env.CI) && process.env.CI !== 'false',
    tty: Boolean(process.stdout.isTTY),
  };
}
