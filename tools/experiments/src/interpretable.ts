import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { publishModuleOnce, publishNetworkOnce } from '@transplant/distill';
import {
  TransplantError,
  describeMachine,
  formatMachine,
  moduleWeights,
  writeFileWhole,
} from '@transplant/core';
import { type CategoryId } from '@transplant/data';
import { PART_MASK_MODES, type FilterLossMode, type PartMaskMode } from '@transplant/interpretable';
import { FolderStore, Registry } from '@transplant/registry';
import {
  chooseLearningRate,
  chosenPicture,
  formatInterpretableReport,
  heatmapName,
  measureRun,
  networkName,
  referenceInstability,
  reportedCells,
  runKey,
  runOne,
  sameRunSettings,
  settingKey,
  INTERPRET_STREAMS,
  type RunResult,
  type RunSpec,
  type SplitNumbers,
} from './interpretable-runs';
import { categoryList } from './category-list';

/**
 * docs/methods.md §9.2 on the synthetic data under docs/protocol.md: ordinary vs interpretable
 * networks, single-category (each listed category vs. rest) and multi-category (all listed
 * categories + background). Both kinds get the same tuning: each learning rate of the grid
 * on the first seed, the best on dev, then every seed at it. Without `final` every number is
 * on dev; `final` measures the chosen networks on the final test, once. Resumable: each
 * trained network is one JSON file (and a network in the work registry, which a final run
 * measures again); `--runs` picks some (e.g. to run two processes side by side); the report
 * is rebuilt from every file present.
 */
/** Options of `nx run experiments:interpretable` (its schema.json holds the same names, types and defaults). */
export interface InterpretableOptions {
  /** Comma-separated categories, each trained against the rest. */
  readonly single: string;
  /** Comma-separated categories of the multi-category networks (fewer than two: none). */
  readonly multi: string;
  /** Comma-separated setting-kind keys to do (`single-cat-ordinary`; default: all). */
  readonly runs: string | undefined;
  /** Comma-separated seeds; the first is the tuning seed. */
  readonly seeds: string;
  /** Comma-separated learning rates: the tuning grid of both kinds. */
  readonly learningRates: string;
  /** The final run: measure the chosen networks on the final test (docs/protocol.md); the report shows it. */
  readonly final: boolean;
  readonly steps: number;
  readonly batchSize: number;
  readonly mask: PartMaskMode;
  readonly loss: FilterLossMode;
  readonly lambda: number;
  readonly strength: number;
  /** Multi-category: a filter's few positives per batch weigh 0.5/ρ_c (3.5 for 7 classes); at 1e-2 the run diverged (loss 82 at step 1,800). */
  readonly multiStrength: number;
  readonly init: string;
  /** `crop`: every image is its object's crop (the papers' view); `scene`: whole synthetic scenes. */
  readonly view: 'crop' | 'scene';
  /** category-vgg blocks as JSON; a block with a second conv adds a new top layer on the pre-trained stack, as the paper adds conv6. */
  readonly blocks: string;
  /** Input image side in pixels: the top map's side is size / 2^(blocks − 1). */
  readonly size: number;
  /** Measure the runs done already again on dev from the work registry (after a change to the metrics), without training. */
  readonly remeasure: boolean;
  readonly images: number;
  readonly testPerClass: number;
  readonly registry: string;
  readonly results: string;
  /** The trained networks are published here (not committed): measure them again with `transplant --registry … interpret metrics`. */
  readonly workRegistry: string;
}

export const INTERPRETABLE_EXPERIMENT_DEFAULTS: InterpretableOptions = {
  single: 'cat',
  multi: '',
  runs: undefined,
  seeds: '1,2,3',
  learningRates: '0.001,0.003',
  final: false,
  steps: 200,
  batchSize: 16,
  mask: 'argmax',
  loss: 'hand-built',
  lambda: 2,
  strength: 1e-2,
  multiStrength: 3e-3,
  init: 'cat-cls',
  view: 'crop',
  blocks: '[[16],[32],[32],[64]]',
  size: 64,
  remeasure: false,
  images: 200,
  testPerClass: 100,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  workRegistry: fileURLToPath(new URL('../.work/interpretable-registry', import.meta.url)),
};

const numberList = (text: string | number) =>
  String(text)
    .split(',')
    .map((v) => Number(v.trim()));

export async function runInterpretable(options: Partial<InterpretableOptions> = {}): Promise<void> {
  await interpretableExperiment(options);
}

/**
 * The experiment of `runInterpretable`; returns every run of its results folder. With
 * `report: false` (a sweep's cell, which reports itself) it writes the runs and heat maps only.
 */
export async function interpretableExperiment(
  options: Partial<InterpretableOptions> = {},
  {
    report: writeReport = true,
    train = true,
  }: {
    readonly report?: boolean;
    /** False: a run that is missing or stale is refused (E_PROTOCOL) instead of trained (a sweep's final run measures only what dev chose). */
    readonly train?: boolean;
  } = {},
): Promise<RunResult[]> {
  const values = { ...INTERPRETABLE_EXPERIMENT_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);

  const categories = categoryList;
  if (!PART_MASK_MODES.includes(values.mask as PartMaskMode))
    throw new Error(`--mask must be one of ${PART_MASK_MODES.join(', ')}`);
  if (values.loss !== 'exact' && values.loss !== 'hand-built')
    throw new Error('--loss must be exact or hand-built');
  if (values.view !== 'crop' && values.view !== 'scene') throw new Error('--view must be crop or scene');
  const seeds = numberList(values.seeds);
  if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('--seeds: positive integers');
  const grid = numberList(values.learningRates);
  if (grid.some((l) => !(l > 0))) throw new Error('--learning-rates: positive numbers');
  const final = values.final === true;

  const selection = await platform.backendSelector.select({ env: process.env });
  const machine = describeMachine();
  const settings = [
    ...categories(values.single).map((c) => [c]),
    ...(categories(values.multi).length > 1 ? [categories(values.multi)] : []),
  ];
  const workRegistry = new Registry(new FolderStore(values.workRegistry));
  const wanted = values.runs ? new Set(values.runs.split(',')) : null;
  const dir = join(values.results, 'interpretable');
  await mkdir(join(dir, 'runs'), { recursive: true });
  /** Multi-category networks get heat maps on this category's images only (each PNG is ~250 KB in the repo). */
  const HEATMAP_CATEGORY = 'cat';
  const heatmapWriter = (spec: RunSpec) => async (category: CategoryId, png: Buffer) => {
    if (spec.categories.length === 1 || category === HEATMAP_CATEGORY)
      await writeFileWhole(join(dir, heatmapName(spec, category)), png, 'experiment');
  };

  let init: { name: string; weights: Record<string, import('@tensorflow/tfjs').Tensor> } | undefined;
  if (values.init !== 'none') {
    const composer = new Composer(await platform.openRegistry(values.registry), platform.plugins);
    const { network, manifest } = await composer.load(values.init);
    const category = network.module(network.links[0]!.category);
    init = {
      name: `${manifest.name}@${manifest.version} (${category.name})`,
      weights: moduleWeights(category.built, category.prefix),
    };
  }
  const blocks = JSON.parse(values.blocks) as number[][];
  const size = Number(values.size);
  const stride = 2 ** (blocks.length - 1);
  if (!Number.isInteger(size) || size < stride || size % stride !== 0)
    throw new Error(`--size must be a multiple of the blocks' stride ${stride} (got ${values.size})`);
  const fileOf = (spec: RunSpec) => join(dir, 'runs', `${runKey(spec)}.json`);
  const read = (spec: RunSpec): Promise<RunResult | null> =>
    readFile(fileOf(spec), 'utf8').then(
      (t) => JSON.parse(t) as RunResult,
      () => null,
    );
  const write = (result: RunResult) =>
    writeFileWhole(
      join(dir, 'runs', `${result.key}.json`),
      `${JSON.stringify(result, null, 2)}\n`,
      'experiment',
    );

  /** Measures a trained network of the work registry again on `split`. */
  const measureStored = async (spec: RunSpec, previous: RunResult, split: 'dev' | 'test') => {
    const composer = new Composer(workRegistry, platform.plugins);
    const { network } = await composer.load(networkName(spec));
    try {
      const s = previous.settings as {
        crop?: boolean;
        blocks: number[][];
        images: number;
        testPerClass: number;
      };
      return await measureRun(network, spec, {
        split,
        images: s.images,
        testPerClass: s.testPerClass,
        crop: s.crop === true,
        imageSize: network.module(network.links[0]!.category).ports.input.shape[1]!,
        blocks: s.blocks,
        heatmap: writeReport && split === 'dev' && spec.seed === seeds[0] ? heatmapWriter(spec) : null,
      });
    } finally {
      network.dispose();
    }
  };

  /** The run of `spec`: read back, or trained now (and published to the work registry). */
  const ensure = async (spec: RunSpec): Promise<RunResult> => {
    const key = runKey(spec);
    const stored = await read(spec);
    // A run trained or measured with other settings is stale: run it again.
    const same = (r: RunResult) =>
      sameRunSettings(r, {
        steps: Number(values.steps),
        batchSize: Number(values.batchSize),
        images: Number(values.images),
        testPerClass: Number(values.testPerClass),
        blocks,
        crop: values.view === 'crop',
        imageSize: size,
        filterLoss: values.loss,
        lambda: Number(values.lambda),
        strength: Number(spec.categories.length > 1 ? values.multiStrength : values.strength),
        mask: values.mask,
        // Another version of the starting module (a registry updated since) makes another network.
        init: init?.name ?? null,
      });
    const previous = stored && same(stored) ? stored : null;
    if (stored && !previous) process.stderr.write(`${key}: ${fileOf(spec)} has other settings: run again\n`);
    if (previous && values.remeasure) {
      const dev = await measureStored(spec, previous, 'dev');
      const again = { ...previous, dev };
      await write(again);
      process.stderr.write(`${key}: measured again on dev, instability ${dev.instability.toFixed(4)}\n`);
      return again;
    }
    if (previous) {
      process.stderr.write(`${key}: done already (${fileOf(spec)})\n`);
      return previous;
    }
    if (!train)
      throw new TransplantError(
        'E_PROTOCOL',
        `${key}: no stored run with these settings in ${fileOf(spec)}; a final run measures the networks dev chose and trains none. Run the dev sweep first`,
        { operation: 'interpretable' },
      );
    const result = await runOne(spec, {
      plugins: platform.plugins,
      ...(init ? { init: init.weights, initName: init.name } : {}),
      training: {
        crop: values.view === 'crop',
        blocks,
        imageSize: size,
        steps: Number(values.steps),
        batchSize: Number(values.batchSize),
        filterLoss: values.loss as FilterLossMode,
        lambda: Number(values.lambda),
        strength: Number(spec.categories.length > 1 ? values.multiStrength : values.strength),
      },
      mask: values.mask as PartMaskMode,
      images: Number(values.images),
      testPerClass: Number(values.testPerClass),
      // Tuning decides on dev; the final test is measured only for the chosen rate, below.
      final: false,
      // A sweep's cell (no report) draws no heat maps: the sweep draws the chosen cell's.
      heatmap: writeReport && spec.seed === seeds[0] ? heatmapWriter(spec) : null,
      keep: async (network, result) => {
        const name = networkName(spec);
        // A run done again publishes the next patch version.
        const previousVersion = await workRegistry.resolve(name).then(
          (r) => r.version,
          () => null,
        );
        const meta = {
          version: previousVersion ? `1.0.${Number(previousVersion.split('.')[2]) + 1}` : '1.0.0',
          generatedBy: GENERATED_BY,
          provenance: {
            data: `synthetic:v1 seed=icnn-${spec.seed} ${result.categories.join(',')}${values.view === 'crop' ? ' object crops' : ''}`,
            seed: spec.seed,
            steps: result.steps,
            backend: result.backend,
          },
          // The card carries the interpretability numbers too (docs/design.md §3), per category measured, on dev.
          card: {
            summary: `${result.kind} network of the interpretable-layer experiment (learning rate ${spec.learningRate})`,
            metrics: [
              { name: 'error-rate', value: result.dev.error, on: 'dev' },
              ...Object.entries(result.dev.perCategory).flatMap(([category, v]) => [
                ...(Number.isFinite(v.consumed.instability)
                  ? [
                      {
                        name: 'location-instability',
                        value: v.consumed.instability,
                        on: `${category} ${v.consumed.layer} active filters dev n=${values.images}`,
                      },
                    ]
                  : []),
                {
                  name: 'part-interpretability',
                  value: v.consumed.interpretability,
                  on: `${category} ${v.consumed.layer} dev n=${values.images}`,
                },
              ]),
            ],
          },
        };
        // A run killed between these publishes retrains the same weights: what is there is adopted.
        for (const m of network.modules.values()) await publishModuleOnce(workRegistry, m, meta, true);
        await publishNetworkOnce(workRegistry, network, { ...meta, name }, true);
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    await write(result);
    process.stderr.write(
      `${key}: dev error ${(result.dev.error * 100).toFixed(1)} %, instability ${result.dev.instability.toFixed(4)}, part interpretability ${result.dev.interpretability.toFixed(4)}, ${result.cpuSeconds} CPU s for ${result.steps} steps\n`,
    );
    return result;
  };

  for (const categoriesOfSetting of settings)
    for (const kind of ['ordinary', 'interpretable'] as const) {
      const setting = settingKey(categoriesOfSetting);
      if (wanted && !wanted.has(`${setting}-${kind}`)) continue;
      const spec = (seed: number, learningRate: number): RunSpec => ({
        categories: categoriesOfSetting,
        kind,
        seed,
        learningRate,
      });
      // Tuning: every rate of the grid on the first seed, chosen on dev.
      const tuning: RunResult[] = [];
      for (const lr of grid) tuning.push(await ensure(spec(seeds[0]!, lr)));
      const chosen = chooseLearningRate(tuning, grid)!.learningRate;
      process.stderr.write(`${setting}-${kind}: learning rate ${chosen} chosen on dev\n`);
      for (const seed of seeds) {
        const run = await ensure(spec(seed, chosen));
        if (final && !run.final) {
          const measured: SplitNumbers = await measureStored(spec(seed, chosen), run, 'test');
          await write({ ...run, final: measured });
          process.stderr.write(
            `${run.key}: final error ${(measured.error * 100).toFixed(1)} %, instability ${measured.instability.toFixed(4)}\n`,
          );
        }
      }
    }

  const results: RunResult[] = [];
  for (const name of (await readdir(join(dir, 'runs'))).filter((n) => n.endsWith('.json')).sort())
    results.push(JSON.parse(await readFile(join(dir, 'runs', name), 'utf8')) as RunResult);
  if (!writeReport) return results;
  const pictures = (await readdir(dir))
    .filter((n) => n.endsWith('.png') && chosenPicture(n, reportedCells(results, grid, seeds)))
    .sort()
    .map((n) => `interpretable/${n}`);
  const shown = reportedCells(results, grid, seeds).flatMap((c) => c.runs);
  const evaluated = [...new Set(shown.flatMap((r) => r.categories))] as CategoryId[];
  const references = Object.fromEntries(
    evaluated.map((c) => [
      c,
      referenceInstability(c, {
        images: Number(values.images),
        crop: values.view === 'crop',
        size,
        stride,
        seed: final ? INTERPRET_STREAMS.final : INTERPRET_STREAMS.dev,
      }),
    ]),
  );
  const report = formatInterpretableReport(results, {
    final,
    grid,
    seeds,
    backend: selection.id,
    machine: formatMachine(machine),
    command: `npx nx run experiments:interpretable${final ? ' --final' : ''}`,
    pictures,
    references,
  });
  await writeFileWhole(join(values.results, 'interpretable.md'), report, 'experiment');
  await writeFileWhole(
    join(values.results, 'interpretable.json'),
    `${JSON.stringify({ backend: selection.id, machine, final, grid, seeds, results, references }, null, 2)}\n`,
    'experiment',
  );
  process.stdout.write(`${report}\n`);
  return results;
}
