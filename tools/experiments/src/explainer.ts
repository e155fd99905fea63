import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer, publishModule, publishNetwork, type Network } from '@transplant/composer';
import { CATEGORY_IDS, type SampleCategory } from '@transplant/data';
import {
  experimentData,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  experimentError,
  trainExperimentNetwork,
} from '@transplant/interpretable';
import { FolderStore, Registry } from '@transplant/registry';
import {
  explainPerformer,
  formatExplainerReport,
  type DiagnosisResult,
  type ExplainRunResult,
} from './explainer-runs';
import { categoryList } from './category-list';

/**
 * docs/methods.md §9.4 on the synthetic data: explainers of zoo classifiers (p, fidelity, part
 * groups), and the diagnosis case — a bird classifier trained where every bird has a river
 * behind it and nothing else does, against one trained on ordinary scenes — each explained.
 * Resumable: one JSON per run (`zoo-<category>`, `bird-river`, `bird-clean`); `--runs` picks
 * some (two processes can split them); the report is rebuilt from every file present.
 */
/** Options of `nx run experiments:explainer` (its schema.json holds the same names, types and defaults). */
export interface ExplainerOptions {
  /** Comma-separated zoo categories whose classifiers are explained. */
  readonly zoo: string;
  /** Comma-separated run keys to do (default: all). */
  readonly runs: string | undefined;
  readonly steps: number;
  readonly eta: number;
  /** Weight of the decision term (0: the paper's losses only). */
  readonly decision: number;
  readonly filters: number;
  readonly pool: number;
  readonly images: number;
  readonly test: number;
  readonly performerSteps: number;
  readonly registry: string;
  readonly results: string;
  /** The diagnosis performers are published here (not committed) and reused: `transplant --registry … explain --net bird-river`. */
  readonly workRegistry: string;
}

export const EXPLAINER_DEFAULTS: ExplainerOptions = {
  zoo: 'bird,cat',
  runs: undefined,
  steps: 1500,
  eta: 0.5,
  decision: 1,
  filters: 32,
  pool: 1000,
  images: 200,
  test: 200,
  performerSteps: 1500,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  workRegistry: fileURLToPath(new URL('../.work/explainer-registry', import.meta.url)),
};

export async function runExplainer(options: Partial<ExplainerOptions> = {}): Promise<void> {
  const values = { ...EXPLAINER_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const zoo = categoryList(values.zoo);
  const selection = await platform.backendSelector.select({ env: process.env });
  const dir = join(values.results, 'explainer');
  await mkdir(join(dir, 'runs'), { recursive: true });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const wanted = values.runs ? new Set(values.runs.split(',')) : null;
  const common = {
    pool: Number(values.pool),
    steps: Number(values.steps),
    eta: Number(values.eta),
    decision: Number(values.decision),
    filters: Number(values.filters),
    images: Number(values.images),
    test: Number(values.test),
    seed: 1,
    pictures: dir,
    log,
  };
  const exists = (key: string) =>
    readFile(join(dir, 'runs', `${key}.json`), 'utf8').then(
      () => true,
      () => false,
    );
  const save = (key: string, value: unknown) =>
    writeFile(
      join(dir, 'runs', `${key}.json`),
      `${JSON.stringify({ measuredAt: new Date().toISOString(), backend: selection.id, ...(value as object) }, null, 2)}\n`,
    );

  const composer = new Composer(await platform.openRegistry(values.registry), platform.plugins);
  for (const category of zoo) {
    const key = `zoo-${category}`;
    if ((wanted && !wanted.has(key)) || (await exists(key))) continue;
    const { network, manifest } = await composer.load(`${category}-cls`);
    try {
      log(`${key}: explaining ${manifest.name}@${manifest.version}`);
      await save(
        key,
        await explainPerformer(
          { network, name: `${manifest.name}@${manifest.version}`, category },
          { ...common, crop: true },
        ),
      );
    } finally {
      network.dispose();
    }
  }

  /** The diagnosis performers: bird vs rest, trained from scratch on scenes. */
  const others = Object.fromEntries(
    [...CATEGORY_IDS.filter((c) => c !== 'bird'), 'background'].map((c) => [c, false]),
  ) as Partial<Record<SampleCategory, boolean>>;
  const diagnosisRuns = [
    {
      key: 'bird-river',
      rivers: { bird: true, ...others } as Partial<Record<SampleCategory, boolean>>,
      describe: 'every bird with a river behind it, nothing else with one',
    },
    { key: 'bird-clean', rivers: undefined, describe: 'ordinary scenes (a river behind 35 % of all scenes)' },
  ];
  for (const run of diagnosisRuns) {
    if ((wanted && !wanted.has(run.key)) || (await exists(run.key))) continue;
    const o = {
      ...INTERPRETABLE_DEFAULTS,
      categories: ['bird'] as const,
      mask: 'none' as const,
      steps: Number(values.performerSteps),
    };
    const work = new Registry(new FolderStore(values.workRegistry));
    const published = await work.resolve(run.key).then(
      () => true,
      () => false,
    );
    let network: Network;
    if (published) {
      network = (await new Composer(work, platform.plugins).load(run.key)).network;
      log(`${run.key}: the performer from ${values.workRegistry}`);
    } else {
      network = buildExperimentNetwork(platform.plugins, run.key, o);
    }
    try {
      if (!published) {
        log(`${run.key}: training the performer (${run.describe})`);
        trainExperimentNetwork(
          {
            network,
            name: run.key,
            data: experimentData({
              categories: ['bird'],
              seed: 1,
              size: 64,
              crop: false,
              rivers: run.rivers,
            }),
            log,
          },
          o,
        );
        const meta = {
          version: '1.0.0',
          generatedBy: GENERATED_BY,
          provenance: {
            data: `synthetic:v1 seed=icnn-1 bird vs rest; ${run.describe}`,
            seed: 1,
            steps: o.steps,
            backend: selection.id,
          },
          card: { summary: `diagnosis performer of the explainer experiment: ${run.describe}`, metrics: [] },
        };
        for (const m of network.modules.values()) await publishModule(work, m, meta);
        await publishNetwork(work, network, { ...meta, name: run.key });
      }
      const clean = experimentError(
        { network, name: run.key, data: experimentData({ categories: ['bird'], seed: 1, size: 64 }) },
        { perClass: 100 },
      );
      const swapped = experimentError(
        {
          network,
          name: run.key,
          data: experimentData({
            categories: ['bird'],
            seed: 1,
            size: 64,
            crop: false,
            rivers: { bird: false, ...Object.fromEntries(Object.keys(others).map((c) => [c, true])) },
          }),
        },
        { perClass: 100 },
      );
      log(
        `${run.key}: error ${(100 * clean).toFixed(1)} % on ordinary scenes, ${(100 * swapped).toFixed(1)} % with the river swapped`,
      );
      const explanation = await explainPerformer(
        { network, name: run.key, category: 'bird' },
        {
          ...common,
          crop: false,
          riverInImages: true,
        },
      );
      await save(run.key, {
        performer: { name: run.key, rivers: run.describe, error: { clean, swapped }, trainSteps: o.steps },
        explanation,
      });
    } finally {
      network.dispose();
    }
  }

  const files = (await readdir(join(dir, 'runs'))).sort();
  const zooRuns: ExplainRunResult[] = [];
  const diagnosis: DiagnosisResult = { performers: [], explanations: [] };
  for (const f of files) {
    const r = JSON.parse(await readFile(join(dir, 'runs', f), 'utf8'));
    if (f.startsWith('zoo-')) zooRuns.push(r as ExplainRunResult);
    else {
      diagnosis.performers.push(r.performer);
      diagnosis.explanations.push(r.explanation);
    }
  }
  const report = formatExplainerReport(zooRuns, diagnosis.performers.length ? diagnosis : null, {
    backend: selection.id,
    command: 'npx nx run experiments:explainer',
  });
  await writeFile(join(values.results, 'explainer.md'), report);
  await writeFile(
    join(values.results, 'explainer.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), backend: selection.id, zoo: zooRuns, diagnosis }, null, 2)}\n`,
  );
  process.stdout.write(report);
}
