import { describeMachine, formatMachine, writeFileWhole } from '@transplant/core';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { GRAPH_VIEW_RULES, type GraphViewRule } from '@transplant/explanatory-graph';
import {
  DEFAULT_LAMBDAS,
  formatGraphReport,
  runGraphCategory,
  type GraphRunResult,
} from './explanatory-graph-runs';
import { categoryList } from './category-list';
import { storedCellRun } from './stored-cell-run';

/**
 * docs/methods.md §9.3 and §3.7 on the synthetic data under docs/protocol.md: per category and
 * seed, an explanatory graph mined from its zoo classification network on the seed's training
 * crops; few-shot part localization against the baselines (the ridge baselines' λ chosen on
 * dev); node vs filter instability; pictures and (for the first category) the HTML browser.
 * Without `final` every number is on the dev crops; `final` adds the final-test crops, read
 * once. Resumable: one JSON per category and seed, run again when it names another version
 * of the network than the latest or other settings; a final run reuses a dev run's graph and
 * dev numbers. The report is rebuilt from every file present.
 */
/** Options of `nx run experiments:explanatory-graph` (its schema.json holds the same names, types and defaults). */
export interface ExplanatoryGraphOptions {
  readonly categories: string;
  /** Comma-separated seeds (≥ 3 for a reported cell). */
  readonly seeds: string;
  readonly images: number;
  readonly negatives: number;
  readonly test: number;
  readonly iterations: number;
  /** Comma-separated shot counts. */
  readonly shots: string;
  readonly draws: number;
  readonly top: number;
  readonly views: GraphViewRule;
  readonly topN: number;
  /** Comma-separated ridge strengths the pooled-feature baselines choose from on dev. */
  readonly lambdas: string;
  /** The final run: also read the final-test crops (docs/protocol.md); the report shows them. */
  readonly final: boolean;
  readonly redo: boolean;
  readonly registry: string;
  readonly results: string;
  /** The graph files (not committed): `transplant graph inspect --graph …`. */
  readonly work: string;
}

export const EXPLANATORY_GRAPH_DEFAULTS: ExplanatoryGraphOptions = {
  categories: 'bird,cat,cow,dog,horse,sheep',
  seeds: '1,2,3',
  images: 200,
  negatives: 100,
  test: 200,
  iterations: 20,
  shots: '1,3,5',
  draws: 10,
  top: 10,
  views: 'align',
  topN: 20,
  lambdas: DEFAULT_LAMBDAS.join(','),
  final: false,
  redo: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  work: fileURLToPath(new URL('../.work/graphs', import.meta.url)),
};

const numbers = (text: string | number) =>
  String(text)
    .split(',')
    .map((v) => Number(v.trim()));

export async function runExplanatoryGraph(options: Partial<ExplanatoryGraphOptions> = {}): Promise<void> {
  const values = { ...EXPLANATORY_GRAPH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  if (!GRAPH_VIEW_RULES.includes(values.views as GraphViewRule))
    throw new Error(`--views must be one of ${GRAPH_VIEW_RULES.join(', ')}`);
  const categories = categoryList(values.categories);
  const seeds = numbers(values.seeds);
  if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('--seeds: positive integers');
  const lambdas = numbers(values.lambdas);
  if (lambdas.some((l) => !(l > 0))) throw new Error('--lambdas: positive numbers');
  const final = values.final === true;

  const selection = await platform.backendSelector.select({ env: process.env });
  const machine = describeMachine();
  const dir = join(values.results, 'explanatory-graph');
  await mkdir(join(dir, 'runs'), { recursive: true });
  const registry = await platform.openRegistry(values.registry);
  const composer = new Composer(registry, platform.plugins);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  for (const [index, category] of categories.entries()) {
    const current = `${category}-cls@${(await registry.resolve(`${category}-cls`)).version}`;
    for (const seed of seeds) {
      const file = join(dir, 'runs', `${category}-s${seed}.json`);
      const settings = {
        seed,
        images: Number(values.images),
        negatives: Number(values.negatives),
        test: Number(values.test),
        iterations: Number(values.iterations),
        shots: numbers(values.shots),
        draws: Number(values.draws),
        top: Number(values.top),
        views: values.views as GraphViewRule,
        topN: Number(values.topN),
        lambdas,
      };
      // A run made from another version of the network, or with other settings, is stale: run again.
      const { usable, done } = await storedCellRun<GraphRunResult>(
        file,
        { network: current, settings },
        { redo: values.redo === true, final, label: `${category} seed ${seed}`, log },
      );
      if (done) continue;
      const { network, manifest } = await composer.load(`${category}-cls`);
      try {
        const started = performance.now();
        const result = await runGraphCategory(
          { category, network, name: `${manifest.name}@${manifest.version}` },
          {
            ...settings,
            final,
            ...(seed === seeds[0] ? { pictures: dir } : {}),
            graphFile: join(values.work, `${category}-s${seed}.egraph`),
            ...(index === 0 && seed === seeds[0] ? { browser: join(dir, 'browser') } : {}),
            log,
          },
          values.redo ? undefined : usable,
        );
        await writeFileWhole(
          file,
          `${JSON.stringify({ measuredAt: new Date().toISOString(), backend: selection.id, machine, ...result }, null, 2)}\n`,
          'experiment',
        );
        log(`${category} seed ${seed}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
      } finally {
        network.dispose();
      }
    }
  }

  const runs: GraphRunResult[] = [];
  for (const name of (await readdir(join(dir, 'runs'))).filter((n) => n.endsWith('.json')).sort())
    runs.push(JSON.parse(await readFile(join(dir, 'runs', name), 'utf8')) as GraphRunResult);
  const report = formatGraphReport(runs, {
    backend: selection.id,
    machine: formatMachine(machine),
    command: `npx nx run experiments:explanatory-graph${final ? ' --final' : ''}`,
    final,
  });
  await writeFileWhole(join(values.results, 'explanatory-graph.md'), report, 'experiment');
  await writeFileWhole(
    join(values.results, 'explanatory-graph.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), backend: selection.id, machine, final, runs }, null, 2)}\n`,
    'experiment',
  );
  process.stdout.write(report);
}
