import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer, type Network } from '@transplant/composer';
import { publishModuleOnce, publishNetworkOnce } from '@transplant/distill';
import { describeMachine, moduleWeights, writeFileWhole } from '@transplant/core';
import { CATEGORY_IDS, disposeBatch, type SampleCategory } from '@transplant/data';
import {
  RANDOMISATIONS,
  randomiseUpperLayers,
  renderCurves,
  type Randomisation,
} from '@transplant/explainer';
import {
  experimentData,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  initCategoryModule,
  networkModules,
  trainExperimentNetwork,
  type InterpretableNetworkOptions,
} from '@transplant/interpretable';
import { FolderStore, Registry } from '@transplant/registry';
import {
  explainPerformer,
  formatExplainerReport,
  summarise,
  type ExplainerRun,
  type PerformerInfo,
} from './explainer-runs';
import { categoryList } from './category-list';

/**
 * docs/methods.md §5, §9.4 on the synthetic data, under docs/protocol.md: explainers of zoo
 * classifiers, of the same classifiers with their upper layers randomised (the control p must
 * fall on), of an interpretable network and its ordinary twin (trained here, like the
 * interpretable experiment's but shorter), and optionally the river diagnosis; every performer
 * explained under several seeds. Without `--final` every number is on dev images and the
 * report says so; `--final` measures on final-test images drawn under seed names nothing else
 * used. Resumable: one JSON per run (`<performer>-s<seed>`), per stream; `--runs` picks some.
 */
/** Options of `nx run experiments:explainer` (its schema.json holds the same names, types and defaults). */
export interface ExplainerOptions {
  /** Comma-separated zoo categories whose classifiers are explained. */
  readonly zoo: string;
  /** Comma-separated randomisations of each zoo classifier's upper layers (reinit, shuffle; '' none). */
  readonly controls: string;
  /** Comma-separated categories of interpretable/ordinary twins trained here ('' none). */
  readonly twins: string;
  /** Training steps of each twin. */
  readonly twinSteps: number;
  /** Also the river diagnosis (two bird performers of `performerSteps` steps each). */
  readonly diagnosis: boolean;
  /** Comma-separated explainer seeds (each: initialisation, batch order and the unlabelled pool). */
  readonly seeds: string;
  /** Comma-separated performer keys to do (default: all). */
  readonly runs: string | undefined;
  /** The step cap. */
  readonly steps: number;
  /** The stopping rule: evaluate on the dev pool every `every` steps, stop when p and the dev error moved < epsilon over `window` evaluations. */
  readonly every: number;
  readonly window: number;
  readonly epsilon: number;
  readonly learningRate: number;
  readonly eta: number;
  /** Weight of the decision term (0: the paper's losses only). */
  readonly decision: number;
  readonly filters: number;
  readonly pool: number;
  readonly devPool: number;
  readonly images: number;
  readonly test: number;
  readonly performerSteps: number;
  /** The final run: p, groups and fidelity on the final-test images (read once). */
  readonly final: boolean;
  readonly registry: string;
  readonly results: string;
  /** Performers trained here are published here (not committed) and reused. */
  readonly workRegistry: string;
}

export const EXPLAINER_DEFAULTS: ExplainerOptions = {
  zoo: 'bird',
  controls: 'shuffle',
  twins: 'cat',
  twinSteps: 150,
  diagnosis: false,
  seeds: '1,2,3',
  runs: undefined,
  steps: 1500,
  every: 50,
  window: 4,
  epsilon: 0.02,
  learningRate: 1e-3,
  eta: 0,
  decision: 1,
  filters: 32,
  pool: 600,
  devPool: 200,
  images: 100,
  test: 200,
  performerSteps: 1500,
  final: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  workRegistry: fileURLToPath(new URL('../.work/explainer-registry', import.meta.url)),
};

/** Error rate of a single-category experiment network on held-out images of `split` (positives and as many negatives). */
function performerError(network: Network, name: string, data: ReturnType<typeof experimentData>): number {
  const names = networkModules(name);
  const refs = data.heldOut('dev', { positives: 100, negatives: 100 });
  let wrong = 0;
  for (let from = 0; from < refs.length; from += 50) {
    const batch = data.batch(refs.slice(from, from + 50));
    wrong += tf.tidy(() => {
      const logits = tf.reshape(network.run(names.category, names.task, batch.images), [-1]);
      const called = tf.cast(tf.greater(logits, 0), 'int32');
      return tf.sum(tf.cast(tf.notEqual(called, tf.cast(batch.labels, 'int32')), 'int32')).dataSync()[0]!;
    });
    disposeBatch(batch);
  }
  return wrong / refs.length;
}

export async function runExplainer(options: Partial<ExplainerOptions> = {}): Promise<void> {
  const values = { ...EXPLAINER_DEFAULTS, ...options };
  const final = values.final === true || String(values.final) === 'true';
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const zoo = categoryList(values.zoo);
  const twins = values.twins ? categoryList(values.twins) : [];
  const controls = values.controls
    ? values.controls.split(',').map((c) => {
        if (!RANDOMISATIONS.includes(c as Randomisation))
          throw new Error(`--controls takes ${RANDOMISATIONS.join(', ')} (got ${c})`);
        return c as Randomisation;
      })
    : [];
  const seeds = String(values.seeds)
    .split(',')
    .map((s) => Number(s));
  if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('--seeds takes positive integers');
  const selection = await platform.backendSelector.select({ env: process.env });
  const machine = describeMachine();
  const stream = final ? 'final' : 'dev';
  const dir = join(values.results, 'explainer');
  const runsDir = join(dir, final ? 'runs' : 'runs-dev');
  await mkdir(runsDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const wanted = values.runs ? new Set(values.runs.split(',')) : null;
  const common = {
    pool: Number(values.pool),
    devPool: Number(values.devPool),
    steps: Number(values.steps),
    every: Number(values.every),
    window: Number(values.window),
    epsilon: Number(values.epsilon),
    learningRate: Number(values.learningRate),
    eta: Number(values.eta),
    decision: Number(values.decision),
    filters: Number(values.filters),
    images: Number(values.images),
    test: Number(values.test),
    final,
    log,
  };
  const file = (key: string, seed: number) => join(runsDir, `${key}-s${seed}.json`);
  const exists = (path: string) =>
    readFile(path, 'utf8').then(
      () => true,
      () => false,
    );
  /** Explains one performer under every seed (a fresh copy of the network per seed, from `load`). */
  const explainAll = async (
    performer: PerformerInfo,
    load: () => Promise<Network>,
    opts: { crop: boolean; riverInImages?: boolean },
  ) => {
    if (wanted && !wanted.has(performer.key)) return;
    for (const seed of seeds) {
      const path = file(performer.key, seed);
      if (await exists(path)) continue;
      const network = await load();
      try {
        if (performer.randomised)
          randomiseUpperLayers(network, network.links[0]!, { mode: performer.randomised, seed });
        log(`${performer.key} seed ${seed}: explaining (${stream} images)`);
        const started = performance.now();
        const result = await explainPerformer(
          { network, name: performer.key, category: performer.category },
          { ...common, ...opts, seed, pictures: seed === seeds[0] ? dir : null },
        );
        const run: ExplainerRun = {
          measuredAt: new Date().toISOString(),
          backend: selection.id,
          machine,
          performer,
          seed,
          wallSeconds: Math.round((performance.now() - started) / 1000),
          ...result,
        };
        await writeFileWhole(path, `${JSON.stringify(run, null, 2)}\n`, 'experiment');
      } finally {
        network.dispose();
      }
    }
  };

  const composer = new Composer(await platform.openRegistry(values.registry), platform.plugins);
  for (const category of zoo) {
    const load = async () => (await composer.load(`${category}-cls`)).network;
    const { manifest } = await composer.load(`${category}-cls`).then((r) => {
      r.network.dispose();
      return r;
    });
    const reference = `${manifest.name}@${manifest.version}`;
    await explainAll({ key: `zoo-${category}`, reference, category, kind: 'trained' }, load, { crop: true });
    for (const mode of controls)
      await explainAll(
        { key: `zoo-${category}-${mode}`, reference, category, kind: 'randomised', randomised: mode },
        load,
        { crop: true },
      );
  }

  const work = new Registry(new FolderStore(values.workRegistry));
  const workComposer = new Composer(work, platform.plugins);
  /** Trains (once, then reuses from the work registry) a performer of the interpretable package's recipe. */
  const trained = async (
    key: string,
    o: InterpretableNetworkOptions,
    data: ReturnType<typeof experimentData>,
    describe: string,
    init?: { name: string; weights: Record<string, tf.Tensor> },
  ): Promise<{ load: () => Promise<Network>; error: number }> => {
    const load = async () => (await workComposer.load(key)).network;
    const published = await work.resolve(key).then(
      (r) => r.version,
      () => null,
    );
    if (!published) {
      const network = buildExperimentNetwork(platform.plugins, key, o);
      try {
        if (init) initCategoryModule(network, key, init.weights);
        log(`${key}: training the performer (${describe}, ${o.steps} steps)`);
        trainExperimentNetwork({ network, name: key, data, log: (l) => log(`${key}: ${l}`) }, o);
        const meta = {
          version: '1.0.0',
          generatedBy: GENERATED_BY,
          provenance: {
            data: `synthetic:v1 stream=icnn seed=1 ${describe}`,
            seed: o.seed,
            steps: o.steps,
            backend: selection.id,
          },
          card: { summary: `performer of the explainer experiment: ${describe}`, metrics: [] },
        };
        // A run killed between these publishes retrains the same weights: what is there is adopted.
        for (const m of network.modules.values()) await publishModuleOnce(work, m, meta, true);
        await publishNetworkOnce(work, network, { ...meta, name: key }, true);
      } finally {
        network.dispose();
      }
    }
    const network = await load();
    try {
      return { load, error: performerError(network, key, data) };
    } finally {
      network.dispose();
    }
  };

  // Twins: the interpretable experiment's recipe (single category, cat-cls's front end, object
  // crops, the argmax mask, λ and strength of its defaults) with fewer steps; the ordinary twin
  // differs only in having no mask.
  for (const category of twins) {
    const base = await composer.load('cat-cls');
    const front = base.network.module(base.network.links[0]!.category);
    const init = {
      name: `${base.manifest.name}@${base.manifest.version}`,
      weights: moduleWeights(front.built, front.prefix),
    };
    try {
      for (const kind of ['interpretable', 'ordinary'] as const) {
        const key = `twin-${category}-${kind}`;
        if (wanted && !wanted.has(key)) continue;
        const o: InterpretableNetworkOptions = {
          ...INTERPRETABLE_DEFAULTS,
          categories: [category],
          mask: kind === 'interpretable' ? 'argmax' : 'none',
          crop: true,
          lambda: 2,
          strength: 1e-2,
          steps: Number(values.twinSteps),
        };
        const data = experimentData({ categories: [category], seed: 1, size: o.imageSize, crop: true });
        const t = await trained(key, o, data, `${kind} twin, ${category} vs rest, from ${init.name}`, init);
        await explainAll(
          { key, reference: key, category, kind, trainSteps: o.steps, error: t.error },
          t.load,
          { crop: true },
        );
      }
    } finally {
      // The init weights are the base network's own variables: they go with it.
      base.network.dispose();
    }
  }

  if (values.diagnosis === true || String(values.diagnosis) === 'true') {
    const others = Object.fromEntries(
      [...CATEGORY_IDS.filter((c) => c !== 'bird'), 'background'].map((c) => [c, false]),
    ) as Partial<Record<SampleCategory, boolean>>;
    const runs = [
      {
        key: 'bird-river',
        rivers: { bird: true, ...others },
        describe: 'every bird with a river behind it, nothing else with one',
      },
      {
        key: 'bird-clean',
        rivers: undefined,
        describe: 'ordinary scenes (a river behind 35 % of all scenes)',
      },
    ];
    for (const run of runs) {
      if (wanted && !wanted.has(run.key)) continue;
      const o: InterpretableNetworkOptions = {
        ...INTERPRETABLE_DEFAULTS,
        categories: ['bird'],
        mask: 'none',
        steps: Number(values.performerSteps),
      };
      const data = experimentData({
        categories: ['bird'],
        seed: 1,
        size: 64,
        crop: false,
        ...(run.rivers ? { rivers: run.rivers } : {}),
      });
      const t = await trained(run.key, o, data, run.describe);
      const network = await t.load();
      const swapped = (() => {
        try {
          const flipped = Object.fromEntries(Object.keys(others).map((c) => [c, true]));
          return performerError(
            network,
            run.key,
            experimentData({
              categories: ['bird'],
              seed: 1,
              size: 64,
              crop: false,
              rivers: { bird: false, ...flipped },
            }),
          );
        } finally {
          network.dispose();
        }
      })();
      const clean = run.rivers
        ? await (async () => {
            const n = await t.load();
            try {
              return performerError(n, run.key, experimentData({ categories: ['bird'], seed: 1, size: 64 }));
            } finally {
              n.dispose();
            }
          })()
        : t.error;
      await explainAll(
        {
          key: run.key,
          reference: run.key,
          category: 'bird',
          kind: 'diagnosis',
          trainSteps: o.steps,
          error: clean,
          swappedError: swapped,
          rivers: run.describe,
        },
        t.load,
        { crop: false, riverInImages: true },
      );
    }
  }

  const runs: ExplainerRun[] = [];
  for (const f of (await readdir(runsDir)).filter((f) => f.endsWith('.json')).sort())
    runs.push(JSON.parse(await readFile(join(runsDir, f), 'utf8')) as ExplainerRun);
  const curves = renderCurves(
    runs.map((r) => ({ label: r.performer.key, curve: r.curve })),
    { title: `Explainer training on dev images: measured p and reconstruction error, one line per seed` },
  );
  const curvesFile = final ? 'curves.png' : 'curves-dev.png';
  await writeFileWhole(join(dir, curvesFile), curves, 'experiment');
  const summary = summarise(runs);
  const report = formatExplainerReport(runs, summary, {
    backend: selection.id,
    machine,
    stream,
    curves: `explainer/${curvesFile}`,
    command: `nice -n 10 npx nx run experiments:explainer${final ? ' --final' : ''}`,
  });
  const base = final ? 'explainer' : 'explainer-dev';
  await writeFileWhole(join(values.results, `${base}.md`), report, 'experiment');
  await writeFileWhole(
    join(values.results, `${base}.json`),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), stream, backend: selection.id, machine, summary, runs }, null, 2)}\n`,
    'experiment',
  );
  process.stdout.write(report);
}
