import * as tf from '@tensorflow/tfjs';

/**
 * The soak benchmark's measurements and verdicts (issue 24 item 6, "memory stays flat"): samples
 * of the tensor count and the process memory taken as a long run goes, the verdict on them, and
 * the JSON, Markdown and SVG that `nx run bench:soak` writes. No library call here: the phases
 * themselves are in soak-phases.ts.
 */

/** One sample, taken after `done` units (steps, images, EM iterations) of a phase's run. */
export interface SoakSample {
  readonly done: number;
  /** Milliseconds since the phase's sampler was created. */
  readonly ms: number;
  /** `tf.memory().numTensors`. */
  readonly tensors: number;
  /** `process.memoryUsage()`, bytes. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Takes a sample now. */
export function takeSample(done: number, since: number): SoakSample {
  const m = process.memoryUsage();
  return {
    done,
    ms: Math.round(performance.now() - since),
    tensors: tf.memory().numTensors,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

/**
 * Samples a run of `total` units every `every` units (and always at the first and last), so a
 * 5,000-step run keeps about a thousand samples however often the progress callback fires.
 */
export class Sampler {
  readonly samples: SoakSample[] = [];
  private readonly since = performance.now();

  constructor(
    readonly total: number,
    readonly every = Math.max(1, Math.ceil(total / 1000)),
  ) {}

  /** Called by a progress callback after `done` units. */
  at(done: number): void {
    if (done === 0 || done === 1 || done % this.every === 0 || done >= this.total)
      this.samples.push(takeSample(done, this.since));
  }
}

/** The goal, per phase: after warm-up (the first `warmup` of the run) no growth. */
export interface SoakGoal {
  /** The share of the run that is warm-up (0.1: the RSS reference is the first sample at 10 %). */
  readonly warmup: number;
  /** RSS at the end may be at most (1 + tolerance) × RSS at the end of warm-up. */
  readonly tolerance: number;
}

export const SOAK_GOAL: SoakGoal = { warmup: 0.1, tolerance: 0.1 };

export interface SoakVerdict {
  /** The sample the RSS is compared with: the first at or after `warmup` of the run. */
  readonly warmupDone: number;
  readonly samplesAfterWarmup: number;
  readonly tensors: { readonly min: number; readonly max: number; readonly constant: boolean };
  readonly rss: {
    readonly atWarmup: number;
    readonly end: number;
    /** end / atWarmup; the goal is ≤ 1 + tolerance. */
    readonly ratio: number;
    readonly maxAfterWarmup: number;
  };
  readonly heapUsed: { readonly atWarmup: number; readonly end: number };
  readonly pass: boolean;
  /** Why it failed (empty when it passed). */
  readonly failures: readonly string[];
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * The verdict on a phase's samples of a run of `total` units: the tensor count constant after
 * warm-up, and RSS at the end within `tolerance` of RSS at the first sample at or after
 * `warmup` × total.
 */
export function judge(
  samples: readonly SoakSample[],
  total: number,
  goal: SoakGoal = SOAK_GOAL,
): SoakVerdict {
  const after = samples.filter((s) => s.done > 0 && s.done >= goal.warmup * total);
  const ref = after[0];
  const end = samples.at(-1);
  if (!ref || !end || after.length < 2)
    throw new Error(
      `a verdict needs at least two samples after warm-up (${goal.warmup * 100} % of ${total}); got ${after.length}`,
    );
  const counts = after.map((s) => s.tensors);
  const tensors = { min: Math.min(...counts), max: Math.max(...counts) };
  const ratio = end.rss / ref.rss;
  const failures: string[] = [];
  if (tensors.min !== tensors.max)
    failures.push(`the tensor count moved after warm-up: ${tensors.min} … ${tensors.max}`);
  if (ratio > 1 + goal.tolerance)
    failures.push(
      `RSS grew ${((ratio - 1) * 100).toFixed(1)} % after warm-up (${mib(ref.rss)} → ${mib(end.rss)}; goal ≤ ${goal.tolerance * 100} %)`,
    );
  return {
    warmupDone: ref.done,
    samplesAfterWarmup: after.length,
    tensors: { ...tensors, constant: tensors.min === tensors.max },
    rss: {
      atWarmup: ref.rss,
      end: end.rss,
      ratio,
      maxAfterWarmup: Math.max(...after.map((s) => s.rss)),
    },
    heapUsed: { atWarmup: ref.heapUsed, end: end.heapUsed },
    pass: failures.length === 0,
    failures,
  };
}

/**
 * At most `count` samples for the JSON and the chart: the ones at `keep` (units done, e.g. the
 * warm-up reference) and the largest RSS and tensor count, and the rest evenly spaced from the
 * first to the last, in order.
 */
export function downsample(
  samples: readonly SoakSample[],
  count: number,
  keep: readonly number[] = [],
): SoakSample[] {
  if (samples.length <= count) return [...samples];
  const largest = (key: 'rss' | 'tensors') =>
    samples.reduce((best, s, i) => (s[key] > samples[best]![key] ? i : best), 0);
  const special = new Set<number>([largest('rss'), largest('tensors')]);
  for (const done of keep) {
    const i = samples.findIndex((s) => s.done === done);
    if (i >= 0) special.add(i);
  }
  const chosen = new Set(special);
  const even = Math.max(count - special.size, 2);
  for (let j = 0; j < even; j++) chosen.add(Math.round((j * (samples.length - 1)) / (even - 1)));
  return [...chosen].sort((a, b) => a - b).map((i) => samples[i]!);
}

/** One phase of the soak as soak.json records it. */
export interface SoakPhaseResult {
  readonly phase: string;
  /** What the run is, in words, and what its units are. */
  readonly what: string;
  readonly unit: string;
  readonly total: number;
  readonly measuredAt: string;
  readonly wallSeconds: number;
  /** Which back end ran it, and the settings of the phase. */
  readonly backend: string;
  readonly settings: Readonly<Record<string, unknown>>;
  /** Numbers showing that the run did its work (a loss, a metric, a share). */
  readonly outcome: Readonly<Record<string, unknown>>;
  /** Before anything was loaded, and after the phase disposed everything: the workflow's own leak check. */
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly verdict: SoakVerdict;
  readonly samplesTaken: number;
  /** Downsampled (see `downsample`). */
  readonly samples: readonly SoakSample[];
  /** The process the phase ran in: a fresh child (`isolated`) or the harness's own. */
  readonly process: 'isolated' | 'shared';
  /** A control phase (not held to the goal; expected to grow): what it shows. */
  readonly control?: string;
}

export interface SoakFile {
  readonly title: string;
  readonly goal: SoakGoal & { readonly text: string };
  readonly command: string;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly updatedAt: string;
  readonly phases: readonly SoakPhaseResult[];
}

const W = 720;
const PANEL = 200;
const PAD = { left: 64, right: 64, top: 28, bottom: 30 };

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A hand-written SVG line chart, one panel per phase: RSS (MiB, left axis, solid) and the
 * tensor count (right axis, dashed) against the share of the run, the warm-up reference and
 * the goal's RSS ceiling marked.
 */
export function soakChart(phases: readonly SoakPhaseResult[], goal: SoakGoal = SOAK_GOAL): string {
  const height = phases.length * (PANEL + PAD.top + PAD.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
  ];
  phases.forEach((p, k) => {
    const top = k * (PANEL + PAD.top + PAD.bottom) + PAD.top;
    const plotW = W - PAD.left - PAD.right;
    const x = (done: number) => PAD.left + (done / p.total) * plotW;
    const rssMax =
      Math.max(...p.samples.map((s) => s.rss), p.verdict.rss.atWarmup * (1 + goal.tolerance)) * 1.05;
    const rss = (v: number) => top + PANEL - (v / rssMax) * PANEL;
    const tMax = Math.max(...p.samples.map((s) => s.tensors), 1) * 1.1;
    const ten = (v: number) => top + PANEL - (v / tMax) * PANEL;
    const line = (f: (s: SoakSample) => number) =>
      p.samples.map((s) => `${x(s.done).toFixed(1)},${f(s).toFixed(1)}`).join(' ');
    const ceiling = rss(p.verdict.rss.atWarmup * (1 + goal.tolerance));
    const v = p.verdict;
    parts.push(
      `<text x="${PAD.left}" y="${top - 10}" font-weight="bold">${escape(`${p.phase}: ${p.total} ${p.unit} — ${v.pass ? 'flat' : 'grows'}${p.control ? ' (control)' : v.pass ? ' (pass)' : ' (fail)'}; RSS ×${v.rss.ratio.toFixed(3)} after warm-up, tensors ${v.tensors.min}…${v.tensors.max}`)}</text>`,
      `<rect x="${PAD.left}" y="${top}" width="${plotW}" height="${PANEL}" fill="none" stroke="#999"/>`,
      `<rect x="${PAD.left}" y="${top}" width="${(goal.warmup * plotW).toFixed(1)}" height="${PANEL}" fill="#eee"/>`,
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${ceiling.toFixed(1)}" y2="${ceiling.toFixed(1)}" stroke="#c33" stroke-dasharray="2,3"/>`,
      `<text x="${PAD.left + plotW - 4}" y="${(ceiling - 3).toFixed(1)}" text-anchor="end" fill="#c33">+${goal.tolerance * 100} % of RSS at ${goal.warmup * 100} %</text>`,
      `<polyline points="${line((s) => rss(s.rss))}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>`,
      `<polyline points="${line((s) => ten(s.tensors))}" fill="none" stroke="#d08000" stroke-width="1.5" stroke-dasharray="5,3"/>`,
      `<text x="${PAD.left - 6}" y="${top + 4}" text-anchor="end" fill="#1f5fa8">${(rssMax / 2 ** 20).toFixed(0)}</text>`,
      `<text x="${PAD.left - 6}" y="${top + PANEL}" text-anchor="end" fill="#1f5fa8">0</text>`,
      `<text x="${PAD.left - 6}" y="${top + PANEL / 2}" text-anchor="end" fill="#1f5fa8">RSS MiB</text>`,
      `<text x="${PAD.left + plotW + 6}" y="${top + 4}" fill="#d08000">${tMax.toFixed(0)}</text>`,
      `<text x="${PAD.left + plotW + 6}" y="${top + PANEL}" fill="#d08000">0</text>`,
      `<text x="${PAD.left + plotW + 6}" y="${top + PANEL / 2}" fill="#d08000">tensors</text>`,
      `<text x="${PAD.left}" y="${top + PANEL + 14}">0</text>`,
      `<text x="${PAD.left + plotW}" y="${top + PANEL + 14}" text-anchor="end">${p.total} ${escape(p.unit)}</text>`,
      `<text x="${PAD.left + (goal.warmup * plotW) / 2}" y="${top + 14}" text-anchor="middle" fill="#666">warm-up</text>`,
      `<text x="${PAD.left + plotW / 2}" y="${top + PANEL + 14}" text-anchor="middle"><tspan fill="#1f5fa8">── RSS</tspan>  <tspan fill="#d08000">- - tensor count</tspan></text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const ms = (b: number) => (b / 2 ** 20).toFixed(1);

/** soak.md: the goal, one row per phase, what each phase is, the chart and the command. */
export function soakMarkdown(file: SoakFile, chart: string | undefined): string {
  const rows = file.phases.map((p) => {
    const v = p.verdict;
    const verdict = v.pass ? '**pass**' : `**fail**: ${v.failures.join('; ')}`;
    return `| ${p.phase} | ${p.total} ${p.unit} | ${p.backend} | ${v.tensors.min} … ${v.tensors.max} | ${p.tensorsBefore} → ${p.tensorsAfter} | ${ms(v.rss.atWarmup)} | ${ms(v.rss.end)} | ${v.rss.ratio.toFixed(3)} | ${ms(v.rss.maxAfterWarmup)} | ${ms(v.heapUsed.atWarmup)} → ${ms(v.heapUsed.end)} | ${(p.wallSeconds / 60).toFixed(1)} min | ${p.control ? `control (not held to the goal): ${v.pass ? 'flat' : 'grows'}` : verdict} |`;
  });
  const held = file.phases.filter((p) => !p.control);
  const met = held.length > 0 && held.every((p) => p.verdict.pass);
  const m = file.machine;
  return [
    `# ${file.title}`,
    '',
    `Goal: ${file.goal.text}`,
    '',
    `Goal met: **${met ? 'yes' : 'no'}** (${held.map((p) => `${p.phase} ${p.verdict.pass ? 'pass' : 'fail'}`).join(', ') || 'no phase run'}).`,
    '',
    '| phase | run | back end | tensors after warm-up (min … max) | tensors before → after the phase | RSS at 10 % (MiB) | RSS at end (MiB) | end / 10 % | RSS max after warm-up (MiB) | heap used 10 % → end (MiB) | wall | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...file.phases.map(
      (p) =>
        `- **${p.phase}** (${p.process} process, ${p.measuredAt}): ${p.what}${p.control ? `. *${p.control}*` : ''}`,
    ),
    '',
    ...(chart ? ['![RSS and tensor count over each phase](soak.svg)', ''] : []),
    `Machine: ${String(m['cpu'])}, ${String(m['threads'])} threads, node ${String(m['node'])}${m['transplantThreads'] ? `, TRANSPLANT_THREADS=${String(m['transplantThreads'])}` : ''}. Samples: \`tf.memory().numTensors\` and \`process.memoryUsage()\` from the phases' progress callbacks (soak.json keeps them, downsampled, with every verdict).`,
    '',
    `Regenerate: \`${file.command}\``,
    '',
  ].join('\n');
}
