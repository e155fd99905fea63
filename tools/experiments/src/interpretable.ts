import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer, publishModule, publishNetwork } from '@transplant/composer';
import { moduleWeights } from '@transplant/core';
import { type CategoryId } from '@transplant/data';
import { PART_MASK_MODES, type FilterLossMode, type PartMaskMode } from '@transplant/interpretable';
import { FolderStore, Registry } from '@transplant/registry';
import {
  formatInterpretableReport,
  measureRun,
  referenceInstability,
  runKey,
  runOne,
  type RunResult,
  type RunSpec,
} from './interpretable-runs';
import { categoryList } from './category-list';

/**
 * docs/methods.md §9.2 on the synthetic data: ordinary vs interpretable networks, single-category
 * (each listed category vs. rest) and multi-category (all listed categories + background).
 * Resumable: each trained network is one JSON file; `--runs` picks some (e.g. to run two
 * processes side by side); the report is rebuilt from every file present.
 */
/** Options of `nx run experiments:interpretable` (its schema.json holds the same names, types and defaults). */
export interface InterpretableOptions {
  /** Comma-separated categories, each trained against the rest. */
  readonly single: string;
  /** Comma-separated categories of the multi-category networks (fewer than two: none). */
  readonly multi: string;
  /** Comma-separated run keys to do (default: all). */
  readonly runs: string | undefined;
  readonly steps: number;
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
  /** Measure the runs done already again from the work registry (after a change to the metrics), without training. */
  readonly remeasure: boolean;
  readonly images: number;
  readonly testPerClass: number;
  readonly registry: string;
  readonly results: string;
  /** The trained networks are published here (not committed): measure them again with `transplant --registry … interpret metrics`. */
  readonly workRegistry: string;
}

export const INTERPRETABLE_EXPERIMENT_DEFAULTS: InterpretableOptions = {
  single: 'cat,dog,horse',
  multi: 'bird,cat,cow,dog,horse,sheep',
  runs: undefined,
  steps: 3000,
  mask: 'argmax',
  loss: 'hand-built',
  lambda: 2,
  strength: 1e-2,
  multiStrength: 3e-3,
  init: 'cat-cls',
  view: 'crop',
  blocks: '[[16],[32],[32],[64]]',
  remeasure: false,
  images: 400,
  testPerClass: 100,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  workRegistry: fileURLToPath(new URL('../.work/interpretable-registry', import.meta.url)),
};

export async function runInterpretable(options: Partial<InterpretableOptions> = {}): Promise<void> {
  const values = { ...INTERPRETABLE_EXPERIMENT_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);

  const categories = categoryList;
  if (!PART_MASK_MODES.includes(values.mask as PartMaskMode))
    throw new Error(`--mask must be one of ${PART_MASK_MODES.join(', ')}`);
  if (values.loss !== 'exact' && values.loss !== 'hand-built')
    throw new Error('--loss must be exact or hand-built');
  if (values.view !== 'crop' && values.view !== 'scene') throw new Error('--view must be crop or scene');

  const selection = await platform.backendSelector.select({ env: process.env });
  const specs: RunSpec[] = [
    ...categories(values.single).flatMap((c) =>
      (['ordinary', 'interpretable'] as const).map((kind) => ({ categories: [c], kind })),
    ),
    ...(categories(values.multi).length > 1
      ? (['ordinary', 'interpretable'] as const).map((kind) => ({
          categories: categories(values.multi),
          kind,
        }))
      : []),
  ];
  const workRegistry = new Registry(new FolderStore(values.workRegistry));
  const wanted = values.runs ? new Set(values.runs.split(',')) : null;
  const dir = join(values.results, 'interpretable');
  await mkdir(join(dir, 'runs'), { recursive: true });
  /** Multi-category networks get heat maps on this category's images only (each PNG is ~250 KB in the repo). */
  const HEATMAP_CATEGORY = 'cat';
  const heatmapWriter = (spec: RunSpec, key: string) => async (category: CategoryId, png: Buffer) => {
    if (spec.categories.length === 1 || category === HEATMAP_CATEGORY)
      await writeFile(join(dir, `${key}-${category}.png`), png);
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

  for (const spec of specs) {
    const key = runKey(spec);
    if (wanted && !wanted.has(key)) continue;
    const file = join(dir, 'runs', `${key}.json`);
    const previous: RunResult | null = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t),
      () => null,
    );
    if (previous && values.remeasure) {
      const composer = new Composer(workRegistry, platform.plugins);
      const { network } = await composer.load(key);
      try {
        const settings = previous.settings as { crop?: boolean; blocks: number[][]; images: number };
        const measured = await measureRun(network, spec, {
          images: Number(values.images),
          crop: settings.crop === true,
          imageSize: network.module(network.links[0]!.category).ports.input.shape[1]!,
          blocks: settings.blocks,
          heatmap: heatmapWriter(spec, key),
        });
        await writeFile(
          file,
          `${JSON.stringify({ ...previous, ...measured, settings: { ...previous.settings, images: Number(values.images) } }, null, 2)}\n`,
        );
        process.stderr.write(
          `${key}: measured again, instability ${measured.instability.toFixed(4)} (all filters ${measured.instabilityAll.toFixed(4)})\n`,
        );
      } finally {
        network.dispose();
      }
      continue;
    }
    if (previous) {
      process.stderr.write(`${key}: done already (${file})\n`);
      continue;
    }
    const result = await runOne(spec, {
      plugins: platform.plugins,
      ...(init ? { init: init.weights, initName: init.name } : {}),
      training: {
        crop: values.view === 'crop',
        blocks: JSON.parse(values.blocks) as number[][],
        steps: Number(values.steps),
        filterLoss: values.loss as FilterLossMode,
        lambda: Number(values.lambda),
        strength: Number(spec.categories.length > 1 ? values.multiStrength : values.strength),
      },
      mask: values.mask as PartMaskMode,
      images: Number(values.images),
      testPerClass: Number(values.testPerClass),
      heatmap: heatmapWriter(spec, key),
      keep: async (network, result) => {
        // A run done again publishes the next patch version.
        const previous = await workRegistry.resolve(key).then(
          (r) => r.version,
          () => null,
        );
        const meta = {
          version: previous ? `1.0.${Number(previous.split('.')[2]) + 1}` : '1.0.0',
          generatedBy: GENERATED_BY,
          provenance: {
            data: `synthetic:v1 seed=icnn-1 ${result.categories.join(',')}${values.view === 'crop' ? ' object crops' : ''}`,
            seed: 1,
            steps: result.steps,
            backend: result.backend,
          },
          // The card carries the interpretability numbers too (docs/design.md §3), per category measured.
          card: {
            summary: `${result.kind} network of the interpretable-layer experiment`,
            metrics: [
              { name: 'error-rate', value: result.error, on: 'test' },
              ...Object.entries(result.perCategory).flatMap(([category, v]) => [
                ...(Number.isFinite(v.consumed.instability)
                  ? [
                      {
                        name: 'location-instability',
                        value: v.consumed.instability,
                        on: `${category} ${v.consumed.layer} active filters n=${values.images}`,
                      },
                    ]
                  : []),
                {
                  name: 'part-interpretability',
                  value: v.consumed.interpretability,
                  on: `${category} ${v.consumed.layer} n=${values.images}`,
                },
              ]),
            ],
          },
        };
        for (const m of network.modules.values()) await publishModule(workRegistry, m, meta);
        await publishNetwork(workRegistry, network, { ...meta, name: key });
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(
      `${key}: error ${(result.error * 100).toFixed(1)} %, instability ${result.instability.toFixed(4)}, part interpretability ${result.interpretability.toFixed(4)}\n`,
    );
  }

  const results: RunResult[] = [];
  for (const name of (await readdir(join(dir, 'runs'))).filter((n) => n.endsWith('.json')).sort())
    results.push(JSON.parse(await readFile(join(dir, 'runs', name), 'utf8')));
  const pictures = (await readdir(dir))
    .filter((n) => n.endsWith('.png'))
    .sort()
    .map((n) => `interpretable/${n}`);
  const evaluated = [...new Set(results.flatMap((r) => Object.keys(r.perCategory)))] as CategoryId[];
  const references = Object.fromEntries(
    evaluated.map((c) => [
      c,
      referenceInstability(c, {
        images: Number(values.images),
        crop: results.some((r) => (r.settings as { crop?: boolean }).crop === true),
      }),
    ]),
  );
  const report = formatInterpretableReport(results, pictures, references);
  await writeFile(join(values.results, 'interpretable.md'), report);
  await writeFile(
    join(values.results, 'interpretable.json'),
    `${JSON.stringify({ backend: selection.id, results, references }, null, 2)}\n`,
  );
  process.stdout.write(`${report}\n`);
}
