import * as tf from '@tensorflow/tfjs';
import type { Network, PluginRegistry } from '@transplant/composer';
import { PART_NAMES, Rng, type CategoryId, type PartName } from '@transplant/data';
import {
  experimentData,
  INSTABILITY_LANDMARKS,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  experimentEvaluation,
  initCategoryModule,
  interpretLayer,
  locationInstability,
  networkModules,
  partImages,
  renderFilterHeatmaps,
  trainExperimentNetwork,
  type InterpretableNetworkOptions,
  type PartMaskMode,
} from '@transplant/interpretable';
import { comparedInWords, formatInterval, formatP, mean, pairedT, tInterval } from './seed-stats';

/**
 * The held-out streams of the experiment (docs/protocol.md). Dev: the part-annotated crops
 * seeded `interpret`, on which the settings of the interpretable networks were chosen before
 * the protocol and the learning rates of both kinds are chosen now, and the category-vs-rest
 * dev split; final test: crops under a name no earlier run drew and the category-vs-rest
 * final-test split, both read only by a final run.
 */
export const INTERPRET_STREAMS = { dev: 'interpret', final: 'interpret-final' } as const;

/** One setting of the experiment: its categories (one: category vs. rest; several: one class each plus background). */
export const settingKey = (categories: readonly CategoryId[]) =>
  `${categories.length === 1 ? 'single' : 'multi'}-${categories.join('-')}`;

/** One network of the experiment: a setting, a kind (ordinary or interpretable), a seed and a learning rate. */
export interface RunSpec {
  readonly categories: readonly CategoryId[];
  readonly kind: 'ordinary' | 'interpretable';
  /** Seeds the network's initialisation and its training and held-out streams together. */
  readonly seed: number;
  readonly learningRate: number;
}

/** A learning rate as a name part: 0.001 → `1e-3`, 0.0015 → `1p5e-3`. */
export const lrText = (lr: number) => lr.toExponential().replace('+', '').replace('.', 'p');

export const runKey = (r: RunSpec) =>
  `${settingKey(r.categories)}-${r.kind}-s${r.seed}-lr${lrText(r.learningRate)}`;

/** The heat-map PNG of a run's top filters on a category's dev crops (drawn for the tuning seed at every rate of the grid; a report shows the chosen rate's). */
export const heatmapName = (r: Pick<RunSpec, 'categories' | 'kind' | 'learningRate'>, category: CategoryId) =>
  `${settingKey(r.categories)}-${r.kind}-lr${lrText(r.learningRate)}-${category}.png`;

/** The network's name in the work registry (short kinds keep module names within 64 characters). */
export const networkName = (r: RunSpec) =>
  `${settingKey(r.categories)}-${r.kind === 'ordinary' ? 'ord' : 'int'}-s${r.seed}-lr${lrText(r.learningRate)}`;

export interface LayerNumbers {
  readonly layer: string;
  /** Over the active filters (firing on enough of the category's images to rank their top N). */
  readonly instability: number;
  readonly active: number;
  /** Over every filter that fires on two images. */
  readonly instabilityAll: number;
  readonly interpretability: number;
  /** Filters that never fired on two images with a landmark. */
  readonly silent: number;
}

/** What a network measured on one held-out stream. */
export interface SplitNumbers {
  /** `dev`, or `test` (the final test). */
  readonly split: 'dev' | 'test';
  /** Held-out error rate (single: category vs. rest; multi: argmax over categories + background). */
  readonly error: number;
  /** Mean task loss on the same images (breaks ties between equal error rates when choosing on dev). */
  readonly loss: number;
  /** Classification images. */
  readonly images: number;
  /** Part-annotated crops per category and their seed name. */
  readonly partImages: number;
  readonly partStream: string;
  /** Per evaluated category: the metrics of the layer the next layer consumes (interpretable: the masked map) and, for the interpretable net, of its conv output before the mask. */
  readonly perCategory: Record<
    string,
    { readonly consumed: LayerNumbers; readonly beforeMask?: LayerNumbers }
  >;
  /** Means over the evaluated categories of `consumed`. */
  readonly instability: number;
  readonly instabilityAll: number;
  readonly interpretability: number;
}

export interface RunResult {
  readonly key: string;
  readonly categories: readonly CategoryId[];
  readonly kind: 'ordinary' | 'interpretable';
  readonly seed: number;
  readonly learningRate: number;
  readonly steps: number;
  readonly wallSeconds: number;
  /** CPU seconds of the training (user + system, all threads of the process). */
  readonly cpuSeconds: number;
  readonly backend: string;
  readonly dev: SplitNumbers;
  /** Only after a final run. */
  readonly final?: SplitNumbers;
  /** Multi-category interpretable: how many filters each category got. */
  readonly assignment?: Record<string, number>;
  readonly settings: Record<string, unknown>;
}

export interface RunOptions {
  readonly plugins: PluginRegistry;
  /** Category-module weights to start from (module-local names), or none (seeded init). */
  readonly init?: Readonly<Record<string, tf.Tensor>>;
  readonly initName?: string;
  readonly training: Partial<InterpretableNetworkOptions>;
  readonly mask: PartMaskMode;
  /** Part-annotated evaluation crops per category. */
  readonly images: number;
  /** Held-out classification images per class. */
  readonly testPerClass: number;
  /** Also measure on the final-test streams (a final run). */
  readonly final: boolean;
  /** Where to write heat-map PNGs for a category (null: none); drawn on dev images. */
  readonly heatmap: ((category: CategoryId, png: Buffer) => Promise<void>) | null;
  /** Called with the trained network before it is freed (e.g. to publish it). */
  readonly keep?: (network: Network, result: RunResult) => Promise<void>;
  readonly log: (line: string) => void;
}

/** The top conv layer of the experiment networks (the last conv of category-vgg's last block). */
export function topLayer(blocks: readonly (readonly number[])[]): string {
  return `block${blocks.length}_conv${blocks.at(-1)!.length}`;
}

export interface MeasureOptions {
  readonly split: 'dev' | 'test';
  readonly images: number;
  readonly testPerClass: number;
  readonly crop: boolean;
  readonly imageSize: number;
  readonly blocks: readonly (readonly number[])[];
  readonly heatmap: ((category: CategoryId, png: Buffer) => Promise<void>) | null;
}

/**
 * The numbers of an experiment network on one held-out stream: its error rate and loss, and
 * per category it was trained on the interpretability of its top conv layer as the next layer
 * consumes it (interpretable: the masked map) and, for an interpretable network, before the
 * mask. Only `split: 'test'` reads the final-test images.
 */
export async function measureRun(
  network: Network,
  spec: RunSpec,
  options: MeasureOptions,
): Promise<SplitNumbers> {
  const name = networkName(spec);
  const names = networkModules(name);
  const link = { category: names.category, task: names.task };
  const { split } = options;
  const data = experimentData({
    categories: spec.categories,
    seed: spec.seed,
    size: options.imageSize,
    crop: options.crop,
    finalTest: split === 'test',
  });
  const evaluation = experimentEvaluation({ network, name, data }, { perClass: options.testPerClass, split });
  const partStream = split === 'dev' ? INTERPRET_STREAMS.dev : INTERPRET_STREAMS.final;
  const conv = topLayer(options.blocks);
  const consumedLayer = spec.kind === 'ordinary' ? conv : `${conv}_mask`;
  const perCategory: Record<string, { consumed: LayerNumbers; beforeMask?: LayerNumbers }> = {};
  for (const category of spec.categories) {
    const images = partImages(category, {
      count: options.images,
      size: options.imageSize,
      crop: options.crop,
      seed: partStream,
    });
    const numbers = (layer: string) => {
      const r = interpretLayer({ network, link }, { layer, images });
      const n: LayerNumbers = {
        layer,
        instability: r.instability.mean,
        instabilityAll: r.instability.meanAll,
        active: r.instability.active,
        interpretability: r.interpretability.mean,
        silent: r.instability.silent,
      };
      return { r, n };
    };
    const consumed = numbers(consumedLayer);
    perCategory[category] = {
      consumed: consumed.n,
      ...(spec.kind === 'interpretable' ? { beforeMask: numbers(conv).n } : {}),
    };
    if (options.heatmap)
      await options.heatmap(
        category,
        renderFilterHeatmaps(consumed.r, images, {
          filters: 6,
          images: 6,
          title: `${runKey(spec)} · ${consumedLayer} · ${category} ${split} images`,
        }),
      );
  }
  const values = Object.values(perCategory);
  const mean = (f: (v: LayerNumbers) => number) =>
    values.reduce((s, v) => s + f(v.consumed), 0) / values.length;
  return {
    split,
    error: evaluation.error,
    loss: evaluation.loss,
    images: evaluation.images,
    partImages: options.images,
    partStream,
    perCategory,
    instability: mean((v) => v.instability),
    instabilityAll: mean((v) => v.instabilityAll),
    interpretability: mean((v) => v.interpretability),
  };
}

/** The settings a stored run must share with the run asked for; a run that differs is stale and is trained again. */
export interface WantedRunSettings {
  readonly steps: number;
  readonly batchSize: number;
  readonly images: number;
  readonly testPerClass: number;
  readonly blocks: readonly (readonly number[])[];
  readonly crop: boolean;
  readonly imageSize: number;
  /** The filter loss's settings: compared for interpretable runs only (an ordinary network has no filter loss). */
  readonly filterLoss: string;
  readonly lambda: number;
  readonly strength: number;
  readonly mask: string;
  /** The module the conv layers start from, as a run records it (`cat-cls@1.1.0 (cat-cls-features)`, null: none); not compared when absent. */
  readonly init?: string | null;
}

/** Whether a stored run was made with `wanted` (a run from before inputs other than 64 pixels: 64). */
export function sameRunSettings(run: RunResult, wanted: WantedRunSettings): boolean {
  const s = run.settings as Partial<Record<keyof WantedRunSettings, unknown>>;
  const filterLoss =
    run.kind === 'ordinary' ||
    (s.filterLoss === wanted.filterLoss &&
      s.lambda === wanted.lambda &&
      s.strength === wanted.strength &&
      s.mask === wanted.mask);
  return (
    filterLoss &&
    (wanted.init === undefined || s.init === wanted.init) &&
    (s.imageSize ?? 64) === wanted.imageSize &&
    s.steps === wanted.steps &&
    s.batchSize === wanted.batchSize &&
    s.images === wanted.images &&
    s.testPerClass === wanted.testPerClass &&
    JSON.stringify(s.blocks) === JSON.stringify(wanted.blocks) &&
    s.crop === wanted.crop
  );
}

/** CPU seconds this process has used (user + system). */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Trains one network of the experiment and measures it on dev (and, in a final run, on the final test). */
export async function runOne(spec: RunSpec, opts: RunOptions): Promise<RunResult> {
  const options: InterpretableNetworkOptions = {
    ...INTERPRETABLE_DEFAULTS,
    ...opts.training,
    categories: spec.categories,
    mask: spec.kind === 'ordinary' ? 'none' : opts.mask,
    seed: spec.seed,
    learningRate: spec.learningRate,
  };
  const name = networkName(spec);
  // Training reads only the train stream: its data cannot reach the final test.
  const data = experimentData({
    categories: spec.categories,
    seed: options.seed,
    size: options.imageSize,
    crop: options.crop,
  });
  const network = buildExperimentNetwork(opts.plugins, name, options);
  try {
    if (opts.init)
      opts.log(
        `${runKey(spec)}: ${initCategoryModule(network, name, opts.init).length} weights from ${opts.initName ?? 'a pre-trained module'}`,
      );
    const cpu = cpuNow();
    const trained = trainExperimentNetwork(
      { network, name, data, log: (line) => opts.log(`${runKey(spec)}: ${line}`) },
      options,
    );
    const cpuSeconds = cpuNow() - cpu;
    const measure = (split: 'dev' | 'test') =>
      measureRun(network, spec, {
        split,
        images: opts.images,
        testPerClass: opts.testPerClass,
        crop: options.crop,
        imageSize: options.imageSize,
        blocks: options.blocks,
        heatmap: split === 'dev' ? opts.heatmap : null,
      });
    const dev = await measure('dev');
    const final = opts.final ? await measure('test') : undefined;
    const assignment =
      spec.kind === 'interpretable' && spec.categories.length > 1
        ? Object.fromEntries(
            spec.categories.map((c, k) => [c, trained.assignment.filter((a) => a === k).length]),
          )
        : undefined;
    const result: RunResult = {
      key: runKey(spec),
      categories: spec.categories,
      kind: spec.kind,
      seed: spec.seed,
      learningRate: spec.learningRate,
      steps: trained.steps,
      wallSeconds: Math.round(trained.wallSeconds),
      cpuSeconds: Math.round(cpuSeconds),
      backend: tf.getBackend(),
      dev,
      ...(final ? { final } : {}),
      ...(assignment ? { assignment } : {}),
      settings: {
        mask: options.mask,
        filterLoss: options.filterLoss,
        lambda: options.lambda,
        strength: options.strength,
        steps: options.steps,
        batchSize: options.batchSize,
        learningRate: options.learningRate,
        blocks: options.blocks,
        imageSize: options.imageSize,
        crop: options.crop,
        init: opts.initName ?? null,
        images: opts.images,
        testPerClass: opts.testPerClass,
      },
    };
    await opts.keep?.(network, result);
    return result;
  } finally {
    network.dispose();
  }
}

/**
 * The learning rate of a setting and kind chosen on dev from the runs of the tuning seed:
 * the lowest dev error rate, ties broken by the lower dev loss. Null until every rate of the
 * grid has a run.
 */
export function chooseLearningRate(
  runs: readonly RunResult[],
  grid: readonly number[],
): { learningRate: number; runs: RunResult[] } | null {
  const candidates = grid.map((lr) => runs.find((r) => r.learningRate === lr));
  if (candidates.some((r) => r === undefined)) return null;
  const list = candidates as RunResult[];
  const best = list.reduce((b, r) =>
    r.dev.error < b.dev.error || (r.dev.error === b.dev.error && r.dev.loss < b.dev.loss) ? r : b,
  );
  return { learningRate: best.learningRate, runs: list };
}

/**
 * What the instability metric gives on a category's images for made-up filters on the
 * experiment's map (default 8×8, stride 8): per part of the category, one that always peaks at
 * the cell holding that part's centre (`perPart`; `partDetector` is their mean over the
 * metric's landmarks, head, neck and torso), and one that peaks at a random cell (seeded). A
 * detector of a part that is not a landmark (the tail, the legs) is scored against the
 * landmarks too: the spread of its distance to them is a floor no filter keyed to that part
 * can go below.
 */
export function referenceInstability(
  category: CategoryId,
  setup: {
    readonly images: number;
    readonly crop: boolean;
    /** Image side (default 64). */
    readonly size?: number;
    /** The made-up filters' map stride (default 8). */
    readonly stride?: number;
    /** Seed name of the part images (default the dev stream's). */
    readonly seed?: string;
  },
): { partDetector: number; random: number; perPart: Partial<Record<PartName, number>> } {
  const { images, crop, size = 64, stride = 8, seed = INTERPRET_STREAMS.dev } = setup;
  const set = partImages(category, { count: images, size, crop, seed });
  const annotations = set.samples.map((s) => s.annotation);
  const centres = (part: PartName) =>
    annotations.map((a) => (a.parts[part]?.visible ? a.parts[part].centre : null));
  const present = (part: PartName) => annotations.some((a) => a.parts[part]?.visible);
  const landmarkParts = INSTABILITY_LANDMARKS.filter(present);
  const landmarks = landmarkParts.map(centres);
  const side = size / stride;
  const cells = side * side;
  const geometry = {
    scale: stride,
    offset: stride / 2,
    mapSize: [side, side] as const,
    imageSize: [size, size] as const,
  };
  const options = { topN: Math.min(100, Math.floor(images / 2)), diagonal: Math.hypot(size, size) };
  const detector = (points: readonly (readonly [number, number] | null)[]) => {
    const values = new Float32Array(images * cells);
    points.forEach((p, i) => {
      if (p)
        values[
          i * cells +
            Math.min(side - 1, Math.floor(p[1] / stride)) * side +
            Math.min(side - 1, Math.floor(p[0] / stride))
        ] = 1 + i / images;
    });
    return locationInstability({ values, shape: [images, side, side, 1] }, geometry, landmarks, options).mean;
  };
  const perPart = Object.fromEntries(
    PART_NAMES.filter(present).map((part) => [part, detector(centres(part))]),
  ) as Partial<Record<PartName, number>>;
  const rng = new Rng(`reference:${category}`);
  const random = new Float32Array(images * cells);
  for (let i = 0; i < images; i++) random[i * cells + rng.int(0, cells - 1)] = rng.uniform(1, 2);
  return {
    partDetector: landmarkParts.reduce((s, p) => s + perPart[p]!, 0) / landmarkParts.length,
    random: locationInstability(
      { values: random, shape: [images, side, side, 1] },
      geometry,
      landmarks,
      options,
    ).mean,
    perPart,
  };
}

const pct = (v: number) => (v * 100).toFixed(1);
/** Three decimals; '–' for what is not a number (a NaN instability is stored as null in the JSON: no filter fired). */
const f3 = (v: number | null) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '–');

/** The recipe before the protocol: 3,000 steps of 32 images per network. */
const FULL_RECIPE = { steps: 3000, batchSize: 32 };

/** A line saying how much smaller than the full recipe the runs are, where they are. */
function shortRuns(results: readonly RunResult[]): string[] {
  const s = results[0]?.settings as { steps?: number; batchSize?: number } | undefined;
  if (!s?.steps || !s.batchSize) return [];
  const share = (s.steps * s.batchSize) / (FULL_RECIPE.steps * FULL_RECIPE.batchSize);
  return share < 1
    ? [
        `Reduced size: ${s.steps} steps of ${s.batchSize} images per network (the recipe: ${FULL_RECIPE.steps.toLocaleString('en')} of ${FULL_RECIPE.batchSize}), ${(100 * share).toFixed(0)} % of its training images, to fit the machine; these numbers test the recipe cut short, not the recipe.`,
      ]
    : [];
}

/** The runs a report shows per setting and kind: the chosen learning rate's run of every seed. */
export interface ReportedCell {
  readonly setting: string;
  readonly kind: 'ordinary' | 'interpretable';
  /** Null while the tuning seed's grid is incomplete. */
  readonly learningRate: number | null;
  /** The tuning seed's runs over the grid (for the tuning table). */
  readonly tuning: RunResult[];
  /** The chosen rate's runs, one per seed that has one, seeds ascending. */
  readonly runs: RunResult[];
}

/** Groups the runs into reported cells: per setting and kind, the rate chosen on dev by the tuning (first) seed. */
export function reportedCells(
  results: readonly RunResult[],
  grid: readonly number[],
  seeds: readonly number[],
): ReportedCell[] {
  const settings = [...new Set(results.map((r) => settingKey(r.categories)))];
  return settings.flatMap((setting) =>
    (['ordinary', 'interpretable'] as const).map((kind) => {
      const mine = results.filter((r) => settingKey(r.categories) === setting && r.kind === kind);
      const tuningRuns = mine.filter((r) => r.seed === seeds[0]);
      const chosen = chooseLearningRate(tuningRuns, grid);
      return {
        setting,
        kind,
        learningRate: chosen?.learningRate ?? null,
        tuning: grid.flatMap((lr) => tuningRuns.filter((r) => r.learningRate === lr)),
        runs: chosen
          ? seeds.flatMap((s) => mine.filter((r) => r.seed === s && r.learningRate === chosen.learningRate))
          : [],
      };
    }),
  );
}

/** Whether a heat-map file is of a reported cell's chosen rate (`heatmapName`). */
export function chosenPicture(file: string, cells: readonly ReportedCell[]): boolean {
  return cells.some(
    (c) => c.learningRate !== null && file.startsWith(`${c.setting}-${c.kind}-lr${lrText(c.learningRate)}-`),
  );
}

export interface InterpretableReportMeta {
  readonly final: boolean;
  readonly grid: readonly number[];
  readonly seeds: readonly number[];
  readonly backend: string;
  readonly machine: string;
  readonly command: string;
  readonly pictures: readonly string[];
  /** The made-up reference filters on the report's part images, per category. */
  readonly references: Readonly<Record<string, { partDetector: number; random: number }>>;
}

/**
 * The results as Markdown: per setting, ordinary vs interpretable, each cell the mean over
 * seeds with its 95 % t interval over seeds and n; the differences by a paired t test over
 * seeds (the same seed draws the same training and held-out images for both kinds). Dev
 * numbers unless `final`, and the heading says which.
 */
export function formatInterpretableReport(
  results: readonly RunResult[],
  meta: InterpretableReportMeta,
): string {
  const numbers = (r: RunResult) => (meta.final ? r.final : r.dev);
  const cells = reportedCells(results, meta.grid, meta.seeds).map((c) => ({
    ...c,
    runs: c.runs.filter((r) => numbers(r)),
  }));
  const ci = (xs: readonly number[], digits = 3, scale = 1) => formatInterval(tInterval(xs), digits, scale);
  const col = (runs: readonly RunResult[], f: (n: SplitNumbers) => number) => runs.map((r) => f(numbers(r)!));
  const first = results[0];
  /** Per setting, the ordinary and interpretable runs of the seeds both kinds have, in the same order. */
  const pairs = [...new Set(cells.map((c) => c.setting))].flatMap((setting) => {
    const ord = cells.find((c) => c.setting === setting && c.kind === 'ordinary')!;
    const int = cells.find((c) => c.setting === setting && c.kind === 'interpretable')!;
    const seeds = ord.runs.map((r) => r.seed).filter((s) => int.runs.some((r) => r.seed === s));
    const pick = (c: ReportedCell) => seeds.map((s) => c.runs.find((r) => r.seed === s)!);
    return seeds.length ? [{ setting, ordinary: pick(ord), interpretable: pick(int) }] : [];
  });
  const relative = (a: readonly number[], b: readonly number[]) => {
    const d = mean(a) - mean(b);
    return `${d < 0 ? '−' : '+'}${Math.abs((100 * d) / mean(b)).toFixed(0)} %`;
  };
  const activeOf = (runs: readonly RunResult[]) =>
    mean(runs.map((r) => mean(Object.values(numbers(r)!.perCategory).map((v) => v.consumed.active))));
  const findings = pairs
    .filter((p) => p.ordinary.length >= 2)
    .flatMap((p) => {
      const [o, i] = [p.ordinary, p.interpretable];
      const [ao, ai] = [activeOf(o), activeOf(i)];
      // Few active filters: the all-filters column then averages filters that fire on a few images only.
      const caution =
        ai < ao / 2
          ? [
              `- ${p.setting}: the interpretable layer keeps ${ai.toFixed(0)} active filters (the ordinary one ${ao.toFixed(0)}); its other filters fire on few images, so the *all filters* instability averages mostly near-silent filters and says little about part stability.`,
            ]
          : [];
      const points = (f: (n: SplitNumbers) => number) => {
        const d = mean(col(i, f)) - mean(col(o, f));
        return `${d < 0 ? '−' : '+'}${Math.abs(100 * d).toFixed(1)} points`;
      };
      const sentence = `- ${p.setting}: ${comparedInWords(
        "the interpretable layer's instability",
        "the ordinary layer's",
        pairedT(
          col(i, (n) => n.instability),
          col(o, (n) => n.instability),
        ),
        relative(
          col(i, (n) => n.instability),
          col(o, (n) => n.instability),
        ),
      )}; ${comparedInWords(
        "the interpretable network's error",
        "the ordinary network's",
        pairedT(
          col(i, (n) => n.error),
          col(o, (n) => n.error),
        ),
        points((n) => n.error),
      )}; ${comparedInWords(
        "the interpretable layer's part interpretability",
        "the ordinary layer's",
        pairedT(
          col(i, (n) => n.interpretability),
          col(o, (n) => n.interpretability),
        ),
        relative(
          col(i, (n) => n.interpretability),
          col(o, (n) => n.interpretability),
        ),
      )}.`;
      return [sentence, ...caution];
    });
  const lines: string[] = [
    meta.final
      ? '# Interpretable conv layers on the synthetic data (docs/methods.md §9.2): final test'
      : '# Interpretable conv layers on the synthetic data (docs/methods.md §9.2): dev numbers, not the final test',
    '',
    `Regenerate: \`${meta.command}\` (resumable; each network is one file under \`interpretable/runs/\`). Back end ${first?.backend ?? '–'} (${meta.backend}); machine ${meta.machine}.`,
    meta.final
      ? `Protocol (docs/protocol.md): trained on the \`icnn\` training stream; the learning rate of each kind chosen on dev (the category-vs-rest dev split and the \`${INTERPRET_STREAMS.dev}\` part crops, on which the interpretable settings were chosen before); the numbers below are on the final-test split and the \`${INTERPRET_STREAMS.final}\` part crops, read once.`
      : `Protocol (docs/protocol.md): these are **dev** numbers, on the category-vs-rest dev split and the \`${INTERPRET_STREAMS.dev}\` part crops, the images the interpretable settings were chosen on before and the learning rates are chosen on now. Only \`--final\` reads the final test.`,
    first
      ? `Settings (shared): ${JSON.stringify(Object.fromEntries(Object.entries(first.settings).filter(([k]) => !['strength', 'mask', 'learningRate'].includes(k))))}.`
      : '',
    `Interpretable networks: mask ${results.find((r) => r.kind === 'interpretable')?.settings['mask'] ?? '–'}; hand-built strength ${[
      ...new Set(
        results
          .filter((r) => r.kind === 'interpretable')
          .map((r) => `${settingKey(r.categories)} ${String(r.settings['strength'])}`),
      ),
    ].join(', ')}.`,
    ...shortRuns(results),
    results.length
      ? `Training cost on this machine (shared with other runs): ${mean(results.map((r) => r.cpuSeconds)).toFixed(0)} CPU s and ${mean(results.map((r) => r.wallSeconds)).toFixed(0)} s wall per network on average (${results.length} networks).`
      : '',
    ...(findings.length
      ? ['', `## Findings (${meta.final ? 'final test' : 'dev'}; paired over seeds)`, '', ...findings, '']
      : []),
    `Tuning, the same for both kinds: learning rate from {${meta.grid.join(', ')}} on seed ${meta.seeds[0]}, the lowest dev error (ties: the lower dev loss), then every seed at that rate. Seeds: ${meta.seeds.join(', ')} (a seed initialises the head and mask and draws the training batches and the held-out items; the part crops are the same for every seed). Every cell: mean over seeds [95 % t interval over seeds], n = seeds. p: two-sided paired t test over seeds.`,
    '',
    '| setting | kind | learning rate | n | error % | instability (active filters) | active filters | instability, all filters | part interpretability |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cells.map((c) => {
      const runs = c.runs;
      if (runs.length === 0)
        return `| ${c.setting} | ${c.kind} | ${c.learningRate ?? 'tuning'} | 0 | – | – | – | – | – |`;
      const active = runs.map((r) =>
        mean(Object.values(numbers(r)!.perCategory).map((v) => v.consumed.active)),
      );
      return `| ${c.setting} | ${c.kind} | ${c.learningRate} | ${runs.length} | ${ci(
        col(runs, (n) => n.error),
        1,
        100,
      )} | ${ci(col(runs, (n) => n.instability))} | ${mean(active).toFixed(0)} | ${ci(col(runs, (n) => n.instabilityAll))} | ${ci(col(runs, (n) => n.interpretability))} |`;
    }),
    '',
    '### Interpretable vs ordinary, paired over seeds',
    '',
    '| setting | pairs | error, points | instability (active) | instability, all filters | part interpretability |',
    '|---|---|---|---|---|---|',
    ...pairs.map(({ setting, ordinary: o, interpretable: i }) => {
      const cmp = (f: (n: SplitNumbers) => number, isRelative: boolean, scale = 1, digits = 3) => {
        const a = col(i, f);
        const b = col(o, f);
        const t = pairedT(a, b);
        const sign = t.difference < 0 ? '−' : '+';
        const change = isRelative
          ? `${sign}${Math.abs((100 * t.difference) / mean(b)).toFixed(0)} %`
          : `${sign}${Math.abs(t.difference * scale).toFixed(digits)}`;
        return `${change} (p ${formatP(t.p)})`;
      };
      return `| ${setting} | ${o.length} | ${cmp((n) => n.error, false, 100, 1)} | ${cmp((n) => n.instability, true)} | ${cmp((n) => n.instabilityAll, true)} | ${cmp((n) => n.interpretability, false)} |`;
    }),
    '',
    'Interpretable minus ordinary: error in percentage points; instability relative to the ordinary mean (negative: the interpretable layer is more stable); part interpretability as a difference. With n seeds the paired t test has n − 1 degrees of freedom (2 for 3 seeds): only a difference that is large against its spread across seeds reaches p < 0.05.',
    '',
    `### Learning-rate tuning on dev (seed ${meta.seeds[0]})`,
    '',
    '| setting | kind | learning rate | dev error % | dev loss | dev instability | chosen |',
    '|---|---|---|---|---|---|---|',
    ...cells.flatMap((c) =>
      c.tuning.map(
        (r) =>
          `| ${c.setting} | ${c.kind} | ${r.learningRate} | ${pct(r.dev.error)} | ${r.dev.loss.toFixed(4)} | ${f3(r.dev.instability)} | ${r.learningRate === c.learningRate ? '✓' : ''} |`,
      ),
    ),
    '',
    'Paper (§9.2, ILSVRC Animal-Part, single-category, average over 30 categories): location instability AlexNet 0.146 → 0.091, VGG-16 0.144 → 0.085 (−41 %), VGG-M 0.147 → 0.090, VGG-S 0.145 → 0.090; single-category accuracy drops 1–3 points (e.g. VGG-16 on VOC Part 98.66 → 95.39 %), multi-category accuracy rises.',
    '',
    "Instability: mean over the filters of the top conv layer (the map the next layer consumes; for the interpretable network the masked map) of the std of peak-to-landmark distance (head, neck, torso) over each filter's top images, divided by the image diagonal; lower is more stable. Images where a filter does not fire are skipped (a silent map has no peak; counting its first cell would make silent filters perfectly stable). *Active filters* fire on at least N of the category's images (N = the top-N size), so that their top N are real firings; the first instability column averages over them, the *all filters* column over every filter that fires on two images. For scale, on the same images: a made-up filter that always peaks at the cell of a part centre, and one that peaks at a random cell:",
    '',
    '| images | part detector | random cell |',
    '|---|---|---|',
    ...Object.entries(meta.references).map(([c, r]) => `| ${c} | ${f3(r.partDetector)} | ${f3(r.random)} |`),
    '',
  ];
  const perCategory = cells.flatMap((c) => {
    const categories = [...new Set(c.runs.flatMap((r) => Object.keys(numbers(r)!.perCategory)))];
    return categories.map((category) => {
      const v = c.runs.map((r) => numbers(r)!.perCategory[category]!);
      const before = v.every((x) => x.beforeMask)
        ? `${ci(v.map((x) => x.beforeMask!.instability))} / ${ci(v.map((x) => x.beforeMask!.interpretability))}`
        : '–';
      return `| ${c.setting} | ${c.kind} | ${category} | ${v.length} | ${v[0]!.consumed.layer} | ${ci(v.map((x) => x.consumed.instability))} | ${ci(v.map((x) => x.consumed.interpretability))} | ${before} |`;
    });
  });
  if (perCategory.length)
    lines.push(
      '## Per category',
      '',
      '| setting | kind | images | n | layer | instability | part interpretability | before the mask (instability / interpretability) |',
      '|---|---|---|---|---|---|---|---|',
      ...perCategory,
      '',
    );
  const assigned = cells.flatMap((c) => c.runs.filter((r) => r.assignment));
  if (assigned.length)
    lines.push(
      '## Filter assignment (multi-category)',
      '',
      ...assigned.map(
        (r) =>
          `- ${r.key}: ${Object.entries(r.assignment!)
            .map(([c, n]) => `${c} ${n}`)
            .join(', ')}`,
      ),
      '',
    );
  if (meta.pictures.length)
    lines.push(
      `## Heat maps of the top filters (seed ${meta.seeds[0]}, dev crops)`,
      '',
      ...meta.pictures.map((p) => `![${p}](${p})`),
      '',
    );
  return lines.join('\n');
}
