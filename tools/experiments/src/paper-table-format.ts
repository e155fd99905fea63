import { PAPER_AVERAGE } from './paper-numbers';
import {
  BOOTSTRAP_REPLICATES,
  bootstrapInterval,
  pairedComparison,
  unpackOutcomes,
  type Interval,
  type Measurement,
  type Run,
} from './stats';

/** The training settings of a cell: chosen on dev by the grid (`--tune`). */
export interface Settings {
  readonly init: 'identity' | 'he-normal';
  readonly steps: number;
  readonly learningRate: number;
}

export interface Cell {
  readonly mode: 'inserted' | 'transplanted';
  readonly category: string;
  readonly from: string;
  /** The exact networks used: `cat-cls@1.1.0`. */
  readonly networks: { readonly from: string; readonly to: string };
  readonly layers: 1 | 3;
  readonly samples: number;
  readonly method: 'ol' | 'bd' | 'kd';
  /** Training seed and data seed. */
  readonly seed: number;
  readonly settings: Settings;
  readonly error: number;
  /** Each held-out image's outcome (1 = misclassified), packed 4 a hex digit (stats.packOutcomes). */
  readonly wrong: string;
  readonly images: number;
  readonly seconds: number;
}

/** The teacher's own error (the category's zoo classifier: BD's ceiling) on a seed's held-out images. */
export interface TeacherCell {
  readonly category: string;
  readonly seed: number;
  readonly network: string;
  readonly error: number;
  readonly wrong: string;
  readonly images: number;
}

export interface PaperTableFile {
  readonly backend: string;
  readonly machine: string;
  /** dev, or test for the final run. */
  readonly split: 'dev' | 'test';
  cells: Cell[];
  teachers: TeacherCell[];
}

/** One grid run on dev: a 1-conv adapter, evaluated after each of `steps`. */
export interface TuningRun {
  readonly mode: Cell['mode'];
  readonly category: string;
  readonly layers: 1;
  readonly samples: number;
  readonly method: Cell['method'];
  readonly seed: number;
  readonly init: Settings['init'];
  readonly learningRate: number;
  readonly steps: readonly number[];
  readonly errors: readonly number[];
  readonly seconds: number;
}

export interface TuningFile {
  readonly backend: string;
  readonly machine: string;
  readonly split: 'dev';
  runs: TuningRun[];
  chosen: Partial<Record<Cell['mode'], Partial<Record<Cell['method'], Settings>>>>;
}

export const cellKey = (c: Pick<Cell, 'mode' | 'category' | 'layers' | 'samples' | 'method' | 'seed'>) =>
  `${c.mode}/${c.category}/conv${c.layers}/${c.samples}/${c.method}/seed${c.seed}`;

export const teacherKey = (t: Pick<TeacherCell, 'category' | 'seed' | 'network'>) =>
  `${t.network}/${t.category}/seed${t.seed}`;

const pct = (x: number) => (100 * x).toFixed(2);
export const showInterval = (i: Interval) => `${pct(i.mean)} [${pct(i.low)}, ${pct(i.high)}]`;
export const showDifference = (i: Interval) =>
  `${i.mean >= 0 ? '+' : ''}${pct(i.mean)} [${pct(i.low)}, ${pct(i.high)}]`;

export const runOf = (c: { seed: number; wrong: string; images: number }): Run => ({
  seed: c.seed,
  wrong: unpackOutcomes(c.wrong, c.images),
});

/** The runs of each category (sorted by seed), or undefined unless every category has every seed. */
export function measurement(
  cells: readonly {
    readonly category: string;
    readonly seed: number;
    readonly wrong: string;
    readonly images: number;
  }[],
  categories: readonly string[],
  seeds: readonly number[],
): Measurement | undefined {
  const units = categories.map((category) =>
    seeds.map((seed) => cells.find((c) => c.category === category && c.seed === seed)),
  );
  if (units.some((u) => u.some((c) => c === undefined))) return undefined;
  return units.map((u) => u.map((c) => runOf(c!)));
}

const METHODS = ['ol', 'bd', 'kd'] as const;

/**
 * One Markdown table per mode and adapter, in the form of docs/methods.md §9.1: each cell the
 * mean error over seeds with its 95 % two-level bootstrap interval (seeds × images), the
 * teacher's own error (BD's ceiling) as the first row, the paper's average beside ours; then
 * the paired comparisons of BD with OL and KD on the category average.
 */
export function formatPaperTables(
  file: PaperTableFile,
  categories: readonly string[],
  samples: readonly number[],
): string {
  const seeds = [...new Set(file.cells.map((c) => c.seed))].sort((a, b) => a - b);
  const split = file.split === 'test' ? 'final test' : 'dev (not the final test)';
  const out: string[] = [
    `# Network transplanting on the zoo (docs/methods.md §9.1 form; docs/protocol.md)`,
    '',
    `Split: **${split}**. Back end ${file.backend}; machine ${file.machine}. Error rates in %: the mean over seeds ${seeds.join(', ')} (each seed draws the training and the held-out images and initialises the adapter), with a 95 % two-level bootstrap interval (seeds, then images, ${BOOTSTRAP_REPLICATES} replicates). n per cell: ${seeds.length} seeds × ${file.cells[0]?.images ?? 400} images (200 of the category, 200 others). Settings (adapter start, steps) chosen per mode and method on dev by the same grid for every method: paper-table-tuning.md. OL draws class-balanced minibatches. "teacher" is the target category's own zoo classifier on the same images: BD's ceiling. "paper avg" is docs/methods.md §9.1.`,
    '',
  ];
  const comparisons: string[] = [];
  for (const mode of ['inserted', 'transplanted'] as const) {
    for (const layers of [1, 3] as const) {
      const mine = file.cells.filter((c) => c.mode === mode && c.layers === layers);
      if (mine.length === 0) continue;
      const networks = categories.map((c) => {
        const one = mine.find((m) => m.category === c);
        if (!one) return `${c}: …`;
        return mode === 'transplanted' ? `${one.networks.to} ← ${one.networks.from}` : one.networks.to;
      });
      const settings = METHODS.map((m) => {
        const s = mine.find((c) => c.method === m)?.settings;
        return s ? `${m.toUpperCase()} ${s.init}, ${s.steps} steps` : undefined;
      }).filter(Boolean);
      out.push(
        `### ${mode === 'inserted' ? 'Adapter inserted into the category’s own network' : 'Real transplants'}: ${layers} conv + ReLU (${settings.join('; ')})`,
        '',
        `${mode === 'transplanted' ? 'Target ← task module from' : 'Networks'}: ${networks.join(', ')}.`,
        '',
        `| samples | method | ${categories.join(' | ')} | avg | paper avg |`,
        `|---|---|${categories.map(() => '---|').join('')}---|---|`,
      );
      const teacherCells = file.teachers.filter((t) =>
        mine.some((m) => m.category === t.category && m.networks.to === t.network),
      );
      const teacherRow = categories.map((c) =>
        measurement(
          teacherCells.filter((t) => t.category === c),
          [c],
          seeds,
        ),
      );
      const teacherAvg = measurement(teacherCells, categories, seeds);
      out.push(
        `| – | teacher | ${teacherRow.map((m) => (m ? showInterval(bootstrapInterval(m)) : '…')).join(' | ')} | ${teacherAvg ? showInterval(bootstrapInterval(teacherAvg)) : '…'} | – |`,
      );
      for (const n of samples) {
        const arms: Partial<Record<(typeof METHODS)[number], Measurement>> = {};
        for (const method of METHODS) {
          const row = mine.filter((c) => c.samples === n && c.method === method);
          if (row.length === 0) continue;
          const perCategory = categories.map((c) =>
            measurement(
              row.filter((r) => r.category === c),
              [c],
              seeds,
            ),
          );
          const avg = measurement(row, categories, seeds);
          if (avg) arms[method] = avg;
          const paper = method === 'kd' ? undefined : PAPER_AVERAGE[String(layers) as '1' | '3'][method][n];
          out.push(
            `| ${n} | ${method.toUpperCase()} | ${perCategory.map((m) => (m ? showInterval(bootstrapInterval(m)) : '…')).join(' | ')} | ${avg ? showInterval(bootstrapInterval(avg)) : '…'} | ${paper?.toFixed(2) ?? '–'} |`,
          );
        }
        for (const other of ['ol', 'kd'] as const) {
          if (!arms.bd || !arms[other]) continue;
          const c = pairedComparison(arms.bd, arms[other]);
          comparisons.push(
            `| ${mode} | ${layers} | ${n} | BD − ${other.toUpperCase()} | ${showDifference(c.difference)} | ${c.difference.high < 0 ? 'BD lower' : c.difference.low > 0 ? `${other.toUpperCase()} lower` : 'not resolved'} |`,
          );
        }
      }
      out.push('');
    }
  }
  if (comparisons.length > 0)
    out.push(
      '### Paired comparisons (category average)',
      '',
      'Difference of the category-average error, in points, with its 95 % paired bootstrap interval (the same seed and image draws for both methods). A claim in words needs the interval on one side of 0.',
      '',
      '| mode | conv | samples | comparison | difference | verdict |',
      '|---|---|---|---|---|---|',
      ...comparisons,
      '',
    );
  return out.join('\n');
}

/** The tuning grid's dev errors and the settings it chose. */
export function formatTuning(file: TuningFile): string {
  const rates = [...new Set(file.runs.map((r) => r.learningRate))].sort((a, b) => a - b);
  const out = [
    '# Paper table: the tuning grid on dev (docs/protocol.md)',
    '',
    `Back end ${file.backend}; machine ${file.machine}. Every method gets the same grid: a 1-conv adapter, learning rate ${rates.join(' or ') || '–'} (where a method was given several, each is a grid point), evaluated on the dev split after each step count; real transplants also try both adapter starts (identity, He-normal). The chosen setting of a mode and method has the lowest mean dev error over the grid's categories and sample counts (ties: fewer steps, the identity start, the smaller rate). The 3-conv adapters use the 1-conv choice.`,
    '',
    '| mode | method | start | learning rate | dev error % per step count (mean over categories × samples) | chosen |',
    '|---|---|---|---|---|---|',
  ];
  for (const mode of ['inserted', 'transplanted'] as const)
    for (const method of METHODS) {
      const runs = file.runs.filter((r) => r.mode === mode && r.method === method);
      const points = [...new Set(runs.map((r) => `${r.init}/${r.learningRate}`))].sort();
      for (const point of points) {
        const same = runs.filter((r) => `${r.init}/${r.learningRate}` === point);
        const { init, learningRate } = same[0]!;
        const chosen = file.chosen[mode]?.[method];
        const here = chosen?.init === init && chosen.learningRate === learningRate;
        const cells = same[0]!.steps.map((steps, i) => {
          const error = same.reduce((a, r) => a + r.errors[i]!, 0) / same.length;
          const mark = here && chosen.steps === steps ? '**' : '';
          return `${mark}${steps}: ${pct(error)}${mark}`;
        });
        out.push(
          `| ${mode} | ${method.toUpperCase()} | ${init} | ${learningRate} | ${cells.join(', ')} (${same.length} runs) | ${here ? `${chosen.steps} steps` : ''} |`,
        );
      }
    }
  out.push('');
  return out.join('\n');
}
