/**
 * A target's build in three phases, timed from the steps mkosi logs: the package set (installed, or
 * copied from the install cache), the image (volatile packages, extra trees, hooks, initrd,
 * repart) and the post-output hooks (qcow2, box or OCI archive).
 */
export interface Phases {
  packages: 'installed' | 'cached';
  /** Seconds per phase. */
  seconds: { packages: number; image: number; postOutput: number };
}

// The main image's steps are indented by two spaces; the default initrd's, built inside it, by three.
const CACHE_COPIED = /^‣ {2}Copying cached trees/;
const INSTALLED = /^‣ {2}Installing cache copies/;
const POST_OUTPUT = /^‣ {2}Running post-output script/;
const MAIN_STEP = /^‣ {2}\S/;

/** One step mkosi logged (a `‣` line) and how long it ran until the next one (the last: until mkosi exited). */
export interface Step {
  step: string;
  seconds: number;
}

const ANY_STEP = /^‣/;

export class PhaseClock {
  private readonly start: number;
  private readonly marks: { step: string; at: number }[] = [];
  private installed = false;
  private copying?: boolean;
  private copied?: number;
  private postOutput?: number;

  constructor(private readonly now: () => number = Date.now) {
    this.start = now();
  }

  line(text: string): void {
    if (ANY_STEP.test(text)) this.marks.push({ step: text, at: this.now() });
    if (INSTALLED.test(text)) this.installed = true;
    else if (this.copying === undefined && CACHE_COPIED.test(text)) this.copying = true;
    // The package set is in place when the main image's next step starts.
    else if (this.copying && this.copied === undefined && MAIN_STEP.test(text)) this.copied = this.now();
    if (this.postOutput === undefined && POST_OUTPUT.test(text)) this.postOutput = this.now();
  }

  /** Every step mkosi logged with its duration, once mkosi has exited (where a build's time went). */
  steps(end: number = this.now()): Step[] {
    const s = (ms: number) => Math.round(ms / 100) / 10;
    return this.marks.map((m, i) => ({ step: m.step, seconds: s((this.marks[i + 1]?.at ?? end) - m.at) }));
  }

  /** The phases, once mkosi has exited; undefined when its log did not show the cache step. */
  finish(): Phases | undefined {
    if (this.copied === undefined) return undefined;
    const end = this.now();
    const post = this.postOutput ?? end;
    const s = (ms: number) => Math.round(ms / 100) / 10;
    return {
      packages: this.installed ? 'installed' : 'cached',
      seconds: { packages: s(this.copied - this.start), image: s(post - this.copied), postOutput: s(end - post) },
    };
  }
}

export function describePhases(p: Phases): string {
  const { packages, image, postOutput } = p.seconds;
  return `packages ${p.packages === 'cached' ? 'from the cache' : 'installed and cached'} ${packages} s, image ${image} s, post-output ${postOutput} s`;
}

/** The steps as lines for the build's log, longest first: where a build spends its time. */
export function describeSteps(steps: readonly Step[], most = 15): string[] {
  const total = steps.reduce((sum, x) => sum + x.seconds, 0);
  const longest = [...steps].sort((a, b) => b.seconds - a.seconds).slice(0, most);
  return [`boxes: mkosi's ${most} longest steps of ${Math.round(total * 10) / 10} s:`, ...longest.map((x) => `${x.seconds.toFixed(1).padStart(7)} s  ${x.step}`)];
}
