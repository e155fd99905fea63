import * as tf from '@tensorflow/tfjs';
import type { Network, PluginRegistry } from '@transplant/composer';
import { Rng, type CategoryId } from '@transplant/data';
import {
  experimentData,
  INSTABILITY_LANDMARKS,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  experimentError,
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

/** One network of the experiment: a setting (the categories) and a kind (ordinary or interpretable). */
export interface RunSpec {
  readonly categories: readonly CategoryId[];
  readonly kind: 'ordinary' | 'interpretable';
}

export const runKey = (r: RunSpec) =>
  `${r.categories.length === 1 ? 'single' : 'multi'}-${r.categories.join('-')}-${r.kind}`;

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

export interface RunResult {
  readonly key: string;
  readonly categories: readonly CategoryId[];
  readonly kind: 'ordinary' | 'interpretable';
  readonly steps: number;
  readonly wallSeconds: number;
  readonly backend: string;
  /** Held-out error rate (single: category vs. rest; multi: argmax over categories + background). */
  readonly error: number;
  /** Per evaluated category: the metrics of the layer the next layer consumes (interpretable: the masked map) and, for the interpretable net, of its conv output before the mask. */
  readonly perCategory: Record<
    string,
    { readonly consumed: LayerNumbers; readonly beforeMask?: LayerNumbers }
  >;
  /** Means over the evaluated categories of `consumed`. */
  readonly instability: number;
  readonly instabilityAll: number;
  readonly interpretability: number;
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
  /** Part-annotated evaluation images per category. */
  readonly images: number;
  /** Held-out classification images per class. */
  readonly testPerClass: number;
  /** Where to write heat-map PNGs for a category (null: none). */
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
  readonly images: number;
  readonly crop: boolean;
  readonly imageSize: number;
  readonly blocks: readonly (readonly number[])[];
  readonly heatmap: ((category: CategoryId, png: Buffer) => Promise<void>) | null;
}

/**
 * The interpretability numbers of an experiment network, per category it was trained on: its
 * top conv layer as the next layer consumes it (interpretable: the masked map) and, for an
 * interpretable network, before the mask.
 */
export async function measureRun(
  network: Network,
  spec: RunSpec,
  options: MeasureOptions,
): Promise<Pick<RunResult, 'perCategory' | 'instability' | 'instabilityAll' | 'interpretability'>> {
  const names = networkModules(runKey(spec));
  const link = { category: names.category, task: names.task };
  const conv = topLayer(options.blocks);
  const consumedLayer = spec.kind === 'ordinary' ? conv : `${conv}_mask`;
  const perCategory: Record<string, { consumed: LayerNumbers; beforeMask?: LayerNumbers }> = {};
  for (const category of spec.categories) {
    const images = partImages(category, {
      count: options.images,
      size: options.imageSize,
      crop: options.crop,
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
          title: `${runKey(spec)} · ${consumedLayer} · ${category} images`,
        }),
      );
  }
  const values = Object.values(perCategory);
  const mean = (f: (v: LayerNumbers) => number) =>
    values.reduce((s, v) => s + f(v.consumed), 0) / values.length;
  return {
    perCategory,
    instability: mean((v) => v.instability),
    instabilityAll: mean((v) => v.instabilityAll),
    interpretability: mean((v) => v.interpretability),
  };
}

/** Trains one network of the experiment and measures it. */
export async function runOne(spec: RunSpec, opts: RunOptions): Promise<RunResult> {
  const options: InterpretableNetworkOptions = {
    ...INTERPRETABLE_DEFAULTS,
    ...opts.training,
    categories: spec.categories,
    mask: spec.kind === 'ordinary' ? 'none' : opts.mask,
  };
  const name = runKey(spec);
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
        `${name}: ${initCategoryModule(network, name, opts.init).length} weights from ${opts.initName ?? 'a pre-trained module'}`,
      );
    const trained = trainExperimentNetwork(
      { network, name, data, log: (line) => opts.log(`${name}: ${line}`) },
      options,
    );
    const error = experimentError({ network, name, data }, { perClass: opts.testPerClass });
    const measured = await measureRun(network, spec, {
      images: opts.images,
      crop: options.crop,
      imageSize: options.imageSize,
      blocks: options.blocks,
      heatmap: opts.heatmap,
    });
    const assignment =
      spec.kind === 'interpretable' && spec.categories.length > 1
        ? Object.fromEntries(
            spec.categories.map((c, k) => [c, trained.assignment.filter((a) => a === k).length]),
          )
        : undefined;
    const result: RunResult = {
      key: name,
      categories: spec.categories,
      kind: spec.kind,
      steps: trained.steps,
      wallSeconds: Math.round(trained.wallSeconds),
      backend: tf.getBackend(),
      error,
      ...measured,
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
 * What the instability metric gives on a category's images for two made-up filters on the
 * experiment's 8×8 map (stride 8): one that always peaks at the cell holding a part's centre
 * (mean over head, neck, torso), and one that peaks at a random cell (seeded).
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
  },
): { partDetector: number; random: number } {
  const { images, crop, size = 64, stride = 8 } = setup;
  const set = partImages(category, { count: images, size, crop });
  const annotations = set.samples.map((s) => s.annotation);
  const landmarks = INSTABILITY_LANDMARKS.filter((p) => annotations.some((a) => a.parts[p])).map((p) =>
    annotations.map((a) => (a.parts[p]?.visible ? a.parts[p].centre : null)),
  );
  const side = size / stride;
  const cells = side * side;
  const geometry = {
    scale: stride,
    offset: stride / 2,
    mapSize: [side, side] as const,
    imageSize: [size, size] as const,
  };
  const options = { topN: Math.min(100, Math.floor(images / 2)), diagonal: Math.hypot(size, size) };
  const detectors = landmarks.map((points) => {
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
  });
  const rng = new Rng(`reference:${category}`);
  const random = new Float32Array(images * cells);
  for (let i = 0; i < images; i++) random[i * cells + rng.int(0, cells - 1)] = rng.uniform(1, 2);
  return {
    partDetector: detectors.reduce((s, v) => s + v, 0) / detectors.length,
    random: locationInstability(
      { values: random, shape: [images, side, side, 1] },
      geometry,
      landmarks,
      options,
    ).mean,
  };
}

const pct = (v: number) => (v * 100).toFixed(1);
const f3 = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(3));

/** The results as Markdown: per setting, ordinary vs interpretable side by side, with the paper's numbers. */
export function formatInterpretableReport(
  results: readonly RunResult[],
  pictures: readonly string[],
  references: Readonly<Record<string, { partDetector: number; random: number }>>,
): string {
  const settings = [...new Set(results.map((r) => r.key.replace(/-(ordinary|interpretable)$/, '')))];
  const activeOf = (r: RunResult) =>
    Object.values(r.perCategory)
      .map((v) => v.consumed.active)
      .join('/');
  const drop = (a: number, b: number) => `${(((a - b) / a) * 100).toFixed(0)} %`;
  const rows = settings.map((s) => {
    const ord = results.find((r) => r.key === `${s}-ordinary`);
    const int = results.find((r) => r.key === `${s}-interpretable`);
    const cell = (r: RunResult | undefined, f: (r: RunResult) => string) => (r ? f(r) : '–');
    return `| ${s} | ${cell(ord, (r) => pct(r.error))} | ${cell(int, (r) => pct(r.error))} | ${cell(ord, (r) => `${f3(r.instability)} (${activeOf(r)})`)} | ${cell(int, (r) => `${f3(r.instability)} (${activeOf(r)})`)} | ${ord && int ? drop(ord.instability, int.instability) : '–'} | ${cell(ord, (r) => f3(r.instabilityAll))} | ${cell(int, (r) => f3(r.instabilityAll))} | ${ord && int ? drop(ord.instabilityAll, int.instabilityAll) : '–'} | ${cell(ord, (r) => f3(r.interpretability))} | ${cell(int, (r) => f3(r.interpretability))} |`;
  });
  // The single-category average (the paper's headline numbers average single-category networks).
  const pairs = settings
    .filter((x) => x.startsWith('single-'))
    .map(
      (x) =>
        [
          results.find((r) => r.key === `${x}-ordinary`),
          results.find((r) => r.key === `${x}-interpretable`),
        ] as const,
    )
    .filter((p): p is readonly [RunResult, RunResult] => p[0] !== undefined && p[1] !== undefined);
  if (pairs.length > 1) {
    const avg = (f: (r: RunResult) => number, i: 0 | 1) =>
      pairs.reduce((s, p) => s + f(p[i]), 0) / pairs.length;
    const [eo, ei, io, ii, ao, ai, po, pi] = [
      avg((r) => r.error, 0),
      avg((r) => r.error, 1),
      avg((r) => r.instability, 0),
      avg((r) => r.instability, 1),
      avg((r) => r.instabilityAll, 0),
      avg((r) => r.instabilityAll, 1),
      avg((r) => r.interpretability, 0),
      avg((r) => r.interpretability, 1),
    ];
    rows.push(
      `| **single-category average (${pairs.length})** | ${pct(eo)} | ${pct(ei)} | ${f3(io)} | ${f3(ii)} | ${drop(io, ii)} | ${f3(ao)} | ${f3(ai)} | ${drop(ao, ai)} | ${f3(po)} | ${f3(pi)} |`,
    );
  }
  const detail = results.flatMap((r) =>
    Object.entries(r.perCategory).map(
      ([c, v]) =>
        `| ${r.key} | ${c} | ${v.consumed.layer} | ${f3(v.consumed.instability)} | ${v.consumed.active} | ${f3(v.consumed.instabilityAll)} | ${f3(v.consumed.interpretability)} | ${v.beforeMask ? `${f3(v.beforeMask.instability)} / ${f3(v.beforeMask.interpretability)}` : '–'} |`,
    ),
  );
  const first = results[0];
  return [
    '# Interpretable conv layers on the synthetic data (docs/methods.md §9.2)',
    '',
    'Regenerate: `npx nx run experiments:interpretable` (resumable; each network is one file under `interpretable/runs/`).',
    first
      ? `Settings (shared): ${JSON.stringify(Object.fromEntries(Object.entries(first.settings).filter(([k]) => k !== 'strength' && k !== 'mask')))}; back end ${first.backend}.`
      : '',
    `Interpretable networks: mask ${results.find((r) => r.kind === 'interpretable')?.settings['mask'] ?? '–'}; hand-built strength ${results
      .filter((r) => r.kind === 'interpretable')
      .map((r) => `${r.key.replace(/-interpretable$/, '')} ${String(r.settings['strength'])}`)
      .join(', ')}.`,
    '',
    '| setting | error ordinary % | error interpretable % | instability ordinary (active filters) | instability interpretable (active filters) | drop | instability ordinary, all filters | interpretable, all filters | drop | part interpretability ordinary | part interpretability interpretable |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Paper (§9.2, ILSVRC Animal-Part, single-category, average over 30 categories): location instability AlexNet 0.146 → 0.091, VGG-16 0.144 → 0.085 (−41 %), VGG-M 0.147 → 0.090, VGG-S 0.145 → 0.090; single-category accuracy drops 1–3 points (e.g. VGG-16 on VOC Part 98.66 → 95.39 %), multi-category accuracy rises.',
    '',
    "Instability: mean over the filters of the top conv layer (the map the next layer consumes; for the interpretable network the masked map) of the std of peak-to-landmark distance (head, neck, torso) over each filter's top images, divided by the image diagonal; lower is more stable. Images where a filter does not fire are skipped (a silent map has no peak; counting its first cell would make silent filters perfectly stable). *Active filters* fire on at least N of the category's images (N = the top-N size), so that their top N are real firings; the first instability columns average over them, the *all filters* columns over every filter that fires on two images. For scale, on the same images: a made-up filter that always peaks at the cell of a part centre, and one that peaks at a random cell:",
    '',
    '| images | part detector | random cell |',
    '|---|---|---|',
    ...Object.entries(references).map(([c, r]) => `| ${c} | ${f3(r.partDetector)} | ${f3(r.random)} |`),
    '',
    '## Per category',
    '',
    '| network | images | layer | instability | active filters | instability, all filters | part interpretability | before the mask (instability / interpretability) |',
    '|---|---|---|---|---|---|---|---|',
    ...detail,
    '',
    ...(results.some((r) => r.assignment)
      ? [
          '## Filter assignment (multi-category)',
          '',
          ...results
            .filter((r) => r.assignment)
            .map(
              (r) =>
                `- ${r.key}: ${Object.entries(r.assignment!)
                  .map(([c, n]) => `${c} ${n}`)
                  .join(', ')}`,
            ),
          '',
        ]
      : []),
    ...(pictures.length
      ? ['## Heat maps of the top filters', '', ...pictures.map((p) => `![${p}](${p})`), '']
      : []),
  ].join('\n');
}
