import { partNameOf, type LayerInterpretation } from '@transplant/interpretable';
import { reportedCells, settingKey, type RunResult, type SplitNumbers } from './interpretable-runs';
import { formatInterval, formatP, mean, pairedT, tInterval, type SeedInterval } from './seed-stats';

/**
 * One cell of the interpretable-layer sweep: an architecture of the category module's top
 * (the blocks and the input side fix the top map), the filter loss's strength and the
 * training length. Both kinds of network are trained in every cell, with the same tuning.
 */
export interface SweepCell {
  readonly name: string;
  /** The architecture's name: cells of one architecture and training length share their ordinary runs. */
  readonly arch: string;
  /** category-vgg blocks; a block with a second conv adds a new top layer on the pre-trained stack. */
  readonly blocks: readonly (readonly number[])[];
  /** Input image side in pixels. */
  readonly size: number;
  /** The filter loss: the authors' hand-built gradient (at `strength`) or the exact −MI loss (at weight `lambda`). */
  readonly loss: 'hand-built' | 'exact';
  /** Strength of the hand-built filter loss (the interpretable networks only). */
  readonly strength: number;
  /** Weight of the exact filter loss. */
  readonly lambda: number;
  readonly steps: number;
}

/** The top map of a cell: side (cells) and filters. */
export const topMap = (cell: Pick<SweepCell, 'blocks' | 'size'>) => ({
  side: cell.size / 2 ** (cell.blocks.length - 1),
  filters: cell.blocks.at(-1)!.at(-1)!,
});

/** `1e-3` for 0.001 (cell names). */
const exp = (v: number) => v.toExponential().replace('+', '');

/**
 * The committed grid (docs/results.md). Architectures: today's 8×8×64 top layer; a new
 * conv layer on a 16×16 map (64-pixel inputs, one pooling fewer) with 128 or 256 filters; a
 * new 128-filter conv layer on a 12×12 map (96-pixel inputs). Filter loss: the hand-built
 * gradient at strengths around today's 1e-2 (on a 16×16 map it silences the layer: its push
 * grows with the map's cells) and the exact −MI loss; training: 200 steps, and 600 for the
 * 16×16×128 layer.
 */
export const SWEEP_GRID: readonly SweepCell[] = (() => {
  const arch = {
    top8x64: { blocks: [[16], [32], [32], [64]], size: 64 },
    top16x128: { blocks: [[16], [32], [32, 128]], size: 64 },
    top16x256: { blocks: [[16], [32], [32, 256]], size: 64 },
    top12x128: { blocks: [[16], [32], [32], [64, 128]], size: 96 },
  } as const;
  type Arch = keyof typeof arch;
  const handBuilt = (a: Arch, strength: number, steps = 200): SweepCell => ({
    name: `${a}-k${exp(strength)}${steps === 200 ? '' : `-s${steps}`}`,
    arch: a,
    ...arch[a],
    loss: 'hand-built',
    strength,
    lambda: 1,
    steps,
  });
  const exact = (a: Arch, lambda: number, steps = 200): SweepCell => ({
    name: `${a}-mi${exp(lambda)}${steps === 200 ? '' : `-s${steps}`}`,
    arch: a,
    ...arch[a],
    loss: 'exact',
    strength: 0,
    lambda,
    steps,
  });
  return [
    ...[1e-2, 3e-3, 1e-3, 3e-4].map((k) => handBuilt('top8x64', k)),
    ...[1e-2, 3e-3, 1e-3, 3e-4].map((k) => handBuilt('top16x128', k)),
    ...[3e-3, 1e-3, 3e-4].map((k) => handBuilt('top16x256', k)),
    ...[3e-3, 1e-3, 3e-4].map((k) => handBuilt('top12x128', k)),
    ...[1e-3, 3e-4].map((k) => handBuilt('top16x128', k, 600)),
    ...[10, 1].map((l) => exact('top16x128', l)),
  ];
})();

/** What the sweep asks of a cell (the issue's goal). */
export interface SweepGoal {
  /** Relative change of the active filters' instability, interpretable vs ordinary (−0.35: 35 % lower). */
  readonly instabilityChange: number;
  /** Largest error cost, interpretable minus ordinary, as a rate (0.02: 2 points). */
  readonly errorCost: number;
  /** The interpretable layer keeps at least this share of the ordinary layer's active filters. */
  readonly activeShare: number;
}

/**
 * The multi-category check's filter-loss strength against the chosen cell's single-category
 * one: a filter's few positives per multi-category batch weigh more (0.5/ρ_c), and the first
 * round's multi-category run diverged at the single-category strength and trained at 0.3 × it.
 */
export const MULTI_STRENGTH_SHARE = 0.3;

export const SWEEP_GOAL: SweepGoal = { instabilityChange: -0.35, errorCost: 0.02, activeShare: 0.5 };

/** A cell's numbers on one split, paired over the seeds both kinds have at their chosen rates. */
export interface CellSummary {
  readonly cell: SweepCell;
  /** Seeds with both kinds measured. */
  readonly seeds: number[];
  readonly learningRates: { readonly ordinary: number | null; readonly interpretable: number | null };
  readonly error: { readonly ordinary: SeedInterval; readonly interpretable: SeedInterval };
  /** Interpretable minus ordinary error per seed. */
  readonly errorCost: SeedInterval;
  readonly errorP: number;
  readonly instability: { readonly ordinary: SeedInterval; readonly interpretable: SeedInterval };
  /** Per seed (interpretable − ordinary) / ordinary, active filters; NaN where a layer has none. */
  readonly instabilityChange: SeedInterval;
  readonly instabilityP: number;
  readonly active: { readonly ordinary: number; readonly interpretable: number };
  readonly interpretability: { readonly ordinary: SeedInterval; readonly interpretable: SeedInterval };
  /** The paired per-seed values (seeds as in `seeds`). */
  readonly perSeed: { readonly ordinaryError: number[]; readonly interpretableError: number[] };
  /** Error cost and active filters within the goal's bounds (means over seeds). */
  readonly eligible: boolean;
  /** Eligible, and the instability change at or below the goal's. */
  readonly meetsGoal: boolean;
}

const activeOf = (n: SplitNumbers) => mean(Object.values(n.perCategory).map((v) => v.consumed.active));

/**
 * Summarizes one cell's runs on `split`: per kind the run of each seed at the learning rate
 * the tuning seed chose on dev, paired by seed. Null until both kinds have a paired seed.
 */
export function summarizeCell(
  cell: SweepCell,
  runs: readonly RunResult[],
  options: {
    readonly grid: readonly number[];
    readonly seeds: readonly number[];
    readonly split: 'dev' | 'test';
    readonly goal?: SweepGoal;
    /** The setting to summarize (default cat vs rest). */
    readonly setting?: string;
  },
): CellSummary | null {
  const { grid, seeds, split, goal = SWEEP_GOAL, setting = settingKey(['cat']) } = options;
  const numbers = (r: RunResult) => (split === 'dev' ? r.dev : r.final);
  const cells = reportedCells(runs, grid, seeds);
  const of = (kind: 'ordinary' | 'interpretable') =>
    cells.find((c) => c.setting === setting && c.kind === kind);
  const ord = of('ordinary');
  const int = of('interpretable');
  if (!ord || !int) return null;
  const paired = ord.runs
    .map((o) => ({ o, i: int.runs.find((r) => r.seed === o.seed) }))
    .filter((p): p is { o: RunResult; i: RunResult } => !!p.i && !!numbers(p.o) && !!numbers(p.i));
  if (paired.length === 0) return null;
  const o = paired.map((p) => numbers(p.o)!);
  const i = paired.map((p) => numbers(p.i)!);
  const finite = (v: number | null) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
  const instO = o.map((n) => finite(n.instability));
  const instI = i.map((n) => finite(n.instability));
  const change = instI.map((v, k) => (v - instO[k]!) / instO[k]!);
  const errorCost = tInterval(i.map((n, k) => n.error - o[k]!.error));
  const changeInterval = tInterval(change);
  const active = { ordinary: mean(o.map(activeOf)), interpretable: mean(i.map(activeOf)) };
  const eligible =
    errorCost.mean <= goal.errorCost + 1e-12 &&
    active.interpretable >= goal.activeShare * active.ordinary &&
    Number.isFinite(changeInterval.mean);
  return {
    cell,
    seeds: paired.map((p) => p.o.seed),
    learningRates: { ordinary: ord.learningRate, interpretable: int.learningRate },
    error: { ordinary: tInterval(o.map((n) => n.error)), interpretable: tInterval(i.map((n) => n.error)) },
    errorCost,
    errorP: pairedT(
      i.map((n) => n.error),
      o.map((n) => n.error),
    ).p,
    instability: { ordinary: tInterval(instO), interpretable: tInterval(instI) },
    instabilityChange: changeInterval,
    // A one-sample t test of the per-seed relative changes against 0 (the column shows their mean).
    instabilityP: change.some(Number.isNaN)
      ? NaN
      : pairedT(
          change,
          change.map(() => 0),
        ).p,
    perSeed: { ordinaryError: o.map((n) => n.error), interpretableError: i.map((n) => n.error) },
    active,
    interpretability: {
      ordinary: tInterval(o.map((n) => n.interpretability)),
      interpretable: tInterval(i.map((n) => n.interpretability)),
    },
    eligible,
    meetsGoal: eligible && changeInterval.mean <= goal.instabilityChange,
  };
}

/** Why a cell was chosen. */
export type ChoiceReason = 'eligible' | 'fallback';

/**
 * The cell the sweep carries to the final test, chosen on dev among the cells with every seed:
 * the largest instability drop among the eligible cells (error cost and active filters within
 * the goal's bounds); if none is eligible, the largest drop among the cells that keep the
 * active filters (the report then says the error bound is missed). Ties: the earlier cell of
 * the grid. Null while no cell qualifies.
 */
export function chooseCell(
  summaries: readonly CellSummary[],
  seeds: readonly number[],
  goal: SweepGoal = SWEEP_GOAL,
): { summary: CellSummary; reason: ChoiceReason } | null {
  const complete = summaries.filter((s) => s.seeds.length === seeds.length);
  const best = (list: readonly CellSummary[]) =>
    list.reduce<CellSummary | null>(
      (b, s) => (b === null || s.instabilityChange.mean < b.instabilityChange.mean ? s : b),
      null,
    );
  const eligible = best(complete.filter((s) => s.eligible));
  if (eligible) return { summary: eligible, reason: 'eligible' };
  const fallback = best(
    complete.filter(
      (s) =>
        Number.isFinite(s.instabilityChange.mean) &&
        s.active.interpretable >= goal.activeShare * s.active.ordinary,
    ),
  );
  return fallback ? { summary: fallback, reason: 'fallback' } : null;
}

const pct = (x: SeedInterval) => formatInterval(x, 1, 100);
const f3 = (x: SeedInterval) => formatInterval(x, 3);
/** A relative change in per cent with its interval: `−24 % [−30, −18]`. */
export const signedPct = (x: SeedInterval) => {
  if (Number.isNaN(x.mean)) return '–';
  // Whole per cents, or one decimal where that would read as a signed 0.
  const f = (v: number) =>
    `${v < 0 ? '−' : '+'}${Math.abs(100 * v).toFixed(Math.abs(100 * v) < 0.5 ? 1 : 0)}`;
  return x.n >= 2 ? `${f(x.mean)} % [${f(x.low)}, ${f(x.high)}]` : `${f(x.mean)} %`;
};
/** A rate difference in points with its interval: `+1.5 [−0.3, 3.3]`. */
export const signedPoints = (x: SeedInterval) => {
  const f = (v: number) => `${v < 0 ? '−' : '+'}${Math.abs(100 * v).toFixed(1)}`;
  return x.n >= 2 ? `${f(x.mean)} [${f(x.low)}, ${f(x.high)}]` : f(x.mean);
};

/** The table row of a cell summary. */
export function cellRow(s: CellSummary, chosen: boolean): string {
  const { side, filters } = topMap(s.cell);
  return `| ${s.cell.name}${chosen ? ' ✓' : ''} | ${side}×${side}×${filters}, ${s.cell.size} px | ${s.cell.loss === 'exact' ? `exact λ ${s.cell.lambda}` : `hand-built ${s.cell.strength}`} | ${s.cell.steps} | ${s.seeds.length} | ${pct(s.error.ordinary)} | ${pct(s.error.interpretable)} | ${signedPoints(s.errorCost)} (p ${formatP(s.errorP)}) | ${f3(s.instability.ordinary)} | ${f3(s.instability.interpretable)} | ${signedPct(s.instabilityChange)} (p ${formatP(s.instabilityP)}) | ${s.active.ordinary.toFixed(0)} / ${s.active.interpretable.toFixed(0)} | ${s.eligible ? 'yes' : 'no'} |`;
}

export const CELL_TABLE_HEAD = [
  '| cell | top map, input | filter loss | steps | n | ordinary error % | interpretable error % | error cost, points | ordinary instability | interpretable instability | instability change | active filters (ord / int) | within bounds (means) |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];

/** Active filters keyed to one part (their best part by part interpretability) and their mean instability. */
export interface PartShare {
  readonly filters: number;
  readonly instability: number;
}

/**
 * A layer's active filters grouped by the part each one is best at (`none`: no part scores
 * above 0), with their count and mean location instability: which parts the filters key to,
 * and how stable the filters of each part are.
 */
export function partBreakdown(
  interpretation: Pick<LayerInterpretation, 'instability' | 'interpretability'>,
): Record<string, PartShare> {
  const groups = new Map<string, number[]>();
  interpretation.instability.activeFilters.forEach((active, f) => {
    if (!active) return;
    const best = interpretation.interpretability.perFilter[f]!;
    const part = best.score > 0 ? partNameOf(best.part) : 'none';
    groups.set(part, [...(groups.get(part) ?? []), interpretation.instability.perFilter[f]!]);
  });
  return Object.fromEntries(
    [...groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([part, v]) => [part, { filters: v.length, instability: mean(v) }]),
  );
}

/** Per-seed breakdowns averaged: per part, the mean count of filters over the seeds (0 where a seed has none) and the mean of the seeds' instabilities where it has some. */
export function meanBreakdown(perSeed: readonly Record<string, PartShare>[]): Record<string, PartShare> {
  const parts = [...new Set(perSeed.flatMap((b) => Object.keys(b)))].sort();
  return Object.fromEntries(
    parts.map((part) => {
      const present = perSeed.map((b) => b[part]).filter((x): x is PartShare => !!x);
      return [
        part,
        {
          filters: perSeed.reduce((s, b) => s + (b[part]?.filters ?? 0), 0) / perSeed.length,
          instability: mean(present.map((x) => x.instability)),
        },
      ];
    }),
  );
}
