import { join } from 'node:path';
import type { Network } from '@transplant/composer';
import { formatMachine, type MachineDescription, writeFileWhole } from '@transplant/core';
import { tInterval, type SeedInterval } from './seed-stats';
import type { CategoryId } from '@transplant/data';
import {
  explainPerformer as explainLink,
  type ExplainRunOptions,
  type ExplainRunResult as LinkResult,
  type Randomisation,
} from '@transplant/explainer';

export interface ExplainRunResult extends LinkResult {
  /** The heat-map picture (written for the first seed only). */
  readonly picture: string | null;
}

/** `explainPerformer` of the explainer package, with its heat maps written to `pictures` (null: none). */
export async function explainPerformer(
  subject: { readonly network: Network; readonly name: string; readonly category: CategoryId },
  opts: ExplainRunOptions & { pictures: string | null },
): Promise<ExplainRunResult> {
  const { name } = subject;
  const { pictures, ...options } = opts;
  const { png, explanation: _explanation, explainer: _explainer, ...result } = explainLink(subject, options);
  const picture = pictures ? `${name.replace(/[^a-z0-9-]+/gi, '-')}-${result.stream}-groups.png` : null;
  if (pictures && picture) await writeFileWhole(join(pictures, picture), png, 'experiment');
  return { ...result, picture };
}

/** What was explained. */
export interface PerformerInfo {
  /** The run key, unique per performer (`zoo-bird`, `zoo-bird-shuffle`, `twin-cat-interpretable`, …). */
  readonly key: string;
  /** The network's registry reference. */
  readonly reference: string;
  readonly category: CategoryId;
  readonly kind: 'trained' | 'randomised' | 'interpretable' | 'ordinary' | 'diagnosis';
  /** How the upper layers were randomised (kind 'randomised'). */
  readonly randomised?: Randomisation;
  /** Performers trained by the experiment: their steps and error on dev images. */
  readonly trainSteps?: number;
  readonly error?: number;
  /** The diagnosis: error with the river swapped, and what the training data was. */
  readonly swappedError?: number;
  readonly rivers?: string;
}

/** One explainer run: a performer under one seed. */
export interface ExplainerRun extends ExplainRunResult {
  readonly measuredAt: string;
  readonly backend: string;
  readonly machine: MachineDescription;
  readonly performer: PerformerInfo;
  readonly seed: number;
  readonly wallSeconds: number;
}

/** Mean, sample sd and the 95 % t interval over seeds (n − 1 degrees of freedom). */
export type SeedStats = SeedInterval;
export const seedStats = tInterval;

export interface PerformerSummary {
  readonly performer: PerformerInfo;
  readonly seeds: number[];
  readonly p: SeedStats;
  readonly devError: SeedStats;
  readonly steps: SeedStats;
  /** Runs the stopping rule ended (the rest hit the cap). */
  readonly converged: number;
  readonly interpretableShare: SeedStats;
  readonly fidelity: { readonly performer: SeedStats; readonly explained: SeedStats };
}

/** A comparison the report states in words: p of `a` minus p of `b`, paired by seed. */
export interface Comparison {
  readonly a: string;
  readonly b: string;
  /** p(a) − p(b) over the seeds both have. */
  readonly difference: SeedStats;
  /** The interval of the paired difference excludes 0. */
  readonly separated: boolean;
}

export function summarise(runs: readonly ExplainerRun[]): {
  performers: PerformerSummary[];
  comparisons: Comparison[];
} {
  const keys = [...new Set(runs.map((r) => r.performer.key))];
  const performers = keys.map((key) => {
    const mine = runs.filter((r) => r.performer.key === key).sort((a, b) => a.seed - b.seed);
    const of = (f: (r: ExplainerRun) => number) => seedStats(mine.map(f));
    return {
      performer: mine[0]!.performer,
      seeds: mine.map((r) => r.seed),
      p: of((r) => r.p),
      devError: of((r) => r.errors.both),
      steps: of((r) => r.steps),
      converged: mine.filter((r) => r.converged).length,
      interpretableShare: of((r) => r.interpretableShare),
      fidelity: { performer: of((r) => r.fidelity.performer), explained: of((r) => r.fidelity.explained) },
    };
  });
  const pairs: [string, string][] = [];
  for (const s of performers) {
    const { performer: pf } = s;
    if (pf.kind === 'randomised') pairs.push([pf.key.slice(0, -(pf.randomised!.length + 1)), pf.key]);
    if (pf.kind === 'interpretable') pairs.push([pf.key, pf.key.replace(/-interpretable$/, '-ordinary')]);
  }
  const comparisons = pairs
    .filter(([a, b]) => keys.includes(a) && keys.includes(b))
    .map(([a, b]) => {
      const seeds = runs.filter((r) => r.performer.key === a).map((r) => r.seed);
      const diffs = seeds.flatMap((seed) => {
        const ra = runs.find((r) => r.performer.key === a && r.seed === seed)!;
        const rb = runs.find((r) => r.performer.key === b && r.seed === seed);
        return rb ? [ra.p - rb.p] : [];
      });
      const difference = seedStats(diffs);
      return { a, b, difference, separated: difference.n > 1 && (difference.low > 0 || difference.high < 0) };
    });
  return { performers, comparisons };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const pm = (s: SeedStats, digits = 3, scale = 1) =>
  `${(scale * s.mean).toFixed(digits)} ± ${Number.isFinite(s.sd) ? (scale * s.sd).toFixed(digits) : '–'}`;
const interval = (s: SeedStats, digits = 3) =>
  Number.isFinite(s.low) ? `[${s.low.toFixed(digits)}, ${s.high.toFixed(digits)}]` : '–';

/** "12 head filters 42.2 %" lines: every group's measured share of the features, and the ordinary track's. */
export const groupLines = (r: ExplainRunResult): string =>
  `${r.groups
    .filter((g) => g.group !== 'silent')
    .map((g) => `${g.filters} ${g.group} filters ${pct(g.share)} (decision ${pct(g.decision)})`)
    .join(
      ', ',
    )}; ${r.groups.find((g) => g.group === 'silent')?.filters ?? 0} silent filters; ordinary track ${pct(r.ordinaryShare)}`;

export function formatExplainerReport(
  runs: readonly ExplainerRun[],
  summary: ReturnType<typeof summarise>,
  meta: {
    backend: string;
    machine: MachineDescription;
    stream: 'dev' | 'final';
    curves: string;
    command: string;
  },
): string {
  const lines: string[] = ['# Explainer networks on the synthetic data (docs/methods.md §5, §9.4)', ''];
  lines.push(
    meta.stream === 'final'
      ? 'Final run (docs/protocol.md): p, the groups and fidelity are measured on final-test images drawn under seed names no decision used; every setting below was chosen on dev images.'
      : '**Dev numbers** (no `--final`): p, the groups and fidelity are measured on dev images. The committed results are the final run.',
    '',
    `Regenerate: \`${meta.command}\` (resumable; one JSON per run under \`explainer/${meta.stream === 'final' ? 'runs' : 'runs-dev'}/\`). Back end ${meta.backend}; machine ${formatMachine(meta.machine)}.`,
  );
  const s = runs[0]?.settings;
  if (s)
    lines.push(
      `Settings: ${s.pool} unlabelled training images and ${s.devPool ?? 200} dev images (half of the explained category each), ${s.filters} filters per track, the gate fixed at 0.5 (η = ${s.eta}), decision term weight ${s.decision ?? 1}; training stops when p and the dev reconstruction error each moved less than ${s.epsilon} over ${s.window} evaluations ${s.every} steps apart, or at ${s.steps} steps; explanations on ${s.images} images of the category, fidelity on ${s.test} labelled images (half positives), p on ${s.devPool ?? 200} held-out images (half the category); object crops.`,
    );
  lines.push(
    '',
    "**p** is measured (docs/methods.md §5.3): on held-out images, the share of the reconstruction of the performer's next layer that the interpretable track achieves alone — (e(neither) − e(interpretable only)) / (e(neither) − e(both)), each track replaced by its mean code when it is left out. Mean ± sd over the seeds, 95 % t interval, n seeds.",
    '',
    '| performer | kind | p (mean ± sd) | 95 % interval | n | steps (mean) | stopped by the rule | reconstruction error | interpretable share of Σ|decoder terms| | fidelity: performer → with ŷ |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const p of summary.performers)
    lines.push(
      `| ${p.performer.key} (${p.performer.reference}) | ${p.performer.kind}${p.performer.randomised ? ` (${p.performer.randomised})` : ''}${p.performer.error !== undefined ? `, error ${pct(p.performer.error)} on dev` : ''} | **${pm(p.p)}** | ${interval(p.p)} | ${p.p.n} | ${p.steps.mean.toFixed(0)} | ${p.converged}/${p.p.n} | ${pm(p.devError)} | ${pm(p.interpretableShare)} | ${pct(p.fidelity.performer.mean)} → ${pct(p.fidelity.explained.mean)} |`,
    );
  if (summary.comparisons.length) {
    lines.push(
      '',
      '## Does p discriminate?',
      '',
      '| comparison | p(a) − p(b), paired by seed (mean ± sd) | 95 % t interval | n | separated |',
      '|---|---|---|---|---|',
    );
    for (const c of summary.comparisons)
      lines.push(
        `| ${c.a} − ${c.b} | ${pm(c.difference)} | ${interval(c.difference)} | ${c.difference.n} | ${c.separated ? (c.difference.mean > 0 ? 'yes: a higher' : 'yes: b higher') : 'no'} |`,
      );
  }
  lines.push(
    '',
    '## Training curves',
    '',
    `![p and dev reconstruction error per run](${meta.curves})`,
    '',
    '## What the explainers say (first seed of each performer)',
    '',
    "A filter's group is what its peak cell covers (a part, the river, other background) in most of its 20 strongest images, with our part masks. A group's **share of the features** is measured: its filters' share of Σ|decoder terms| over both tracks, per image, averaged; the groups and the ordinary track sum to 100 %. Its **share of the decision** is its first-order share of the performer's logit among all filters of both tracks.",
    '',
    '| performer | seed | groups (share of the features, of the decision) |',
    '|---|---|---|',
  );
  for (const p of summary.performers) {
    const r = runs.find((x) => x.performer.key === p.performer.key && x.seed === p.seeds[0])!;
    lines.push(`| ${p.performer.key} | ${r.seed} | ${groupLines(r)} |`);
  }
  const diagnosis = summary.performers.filter((p) => p.performer.kind === 'diagnosis');
  if (diagnosis.length) {
    lines.push(
      '',
      '## Diagnosis: a river that comes with the birds',
      '',
      '| performer | training data | error on dev scenes | error with the river swapped | river share of the features | river share of the decision |',
      '|---|---|---|---|---|---|',
    );
    for (const d of diagnosis) {
      const mine = runs.filter((r) => r.performer.key === d.performer.key);
      const river = (f: 'share' | 'decision') =>
        pm(seedStats(mine.map((r) => r.groups.find((g) => g.group === 'river')?.[f] ?? 0)), 1, 100);
      lines.push(
        `| ${d.performer.key} | ${d.performer.rivers} (${d.performer.trainSteps} steps) | ${pct(d.performer.error ?? NaN)} | ${pct(d.performer.swappedError ?? NaN)} | ${river('share')} % | ${river('decision')} % |`,
      );
    }
  }
  lines.push(
    '',
    'Paper (§9.4): average p 0.86–0.96 for VGG-16 single-category; its p is the learned gate, which on our performers only counted training steps (docs/methods.md §5.3), so the two are not comparable.',
    '',
    '## Pictures',
    '',
  );
  for (const r of runs) if (r.picture) lines.push(`![${r.picture}](explainer/${r.picture})`);
  return `${lines.join('\n')}\n`;
}
