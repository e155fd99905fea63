import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { GRAPH_VIEW_RULES, type GraphViewRule } from '@transplant/explanatory-graph';
import { formatGraphReport, runGraphCategory, type GraphRunResult } from './explanatory-graph-runs';
import { categoryList } from './category-list';

/**
 * docs/methods.md §9.3 and §3.7 on the synthetic data: per category, an explanatory graph mined from
 * its zoo classification network; few-shot part localization against the baselines; node vs
 * filter instability; pictures and (for the first category) the HTML browser. Resumable: one
 * JSON per category, run again when it names another version of the network than the latest;
 * the report is rebuilt from every file present.
 */
/** Options of `nx run experiments:explanatory-graph` (its schema.json holds the same names, types and defaults). */
export interface ExplanatoryGraphOptions {
  readonly categories: string;
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
  readonly redo: boolean;
  readonly registry: string;
  readonly results: string;
  /** The graph files (not committed): `transplant graph inspect --graph …`. */
  readonly work: string;
}

export const EXPLANATORY_GRAPH_DEFAULTS: ExplanatoryGraphOptions = {
  categories: 'bird,cat,cow,dog,horse,sheep',
  images: 200,
  negatives: 100,
  test: 200,
  iterations: 20,
  shots: '1,3,5',
  draws: 10,
  top: 10,
  views: 'align',
  topN: 20,
  redo: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  work: fileURLToPath(new URL('../.work/graphs', import.meta.url)),
};

export async function runExplanatoryGraph(options: Partial<ExplanatoryGraphOptions> = {}): Promise<void> {
  const values = { ...EXPLANATORY_GRAPH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  if (!GRAPH_VIEW_RULES.includes(values.views as GraphViewRule))
    throw new Error(`--views must be one of ${GRAPH_VIEW_RULES.join(', ')}`);
  const categories = categoryList(values.categories);

  const selection = await platform.backendSelector.select({ env: process.env });
  const dir = join(values.results, 'explanatory-graph');
  await mkdir(join(dir, 'runs'), { recursive: true });
  const registry = await platform.openRegistry(values.registry);
  const composer = new Composer(registry, platform.plugins);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  for (const [index, category] of categories.entries()) {
    const file = join(dir, 'runs', `${category}.json`);
    // A run mined from another version of the category's network than the latest is stale: run again.
    const current = `${category}-cls@${(await registry.resolve(`${category}-cls`)).version}`;
    const previous = await readFile(file, 'utf8').then(
      (t) => (JSON.parse(t) as GraphRunResult).network,
      () => undefined,
    );
    if (!values.redo && previous === current) {
      log(`${category}: done already (${file})`);
      continue;
    }
    if (previous !== undefined && previous !== current)
      log(`${category}: ${file} was mined from ${previous}, not ${current}: stale, run again`);
    const { network, manifest } = await composer.load(`${category}-cls`);
    try {
      const started = performance.now();
      const result = await runGraphCategory(
        { category, network, name: `${manifest.name}@${manifest.version}` },
        {
          images: Number(values.images),
          negatives: Number(values.negatives),
          test: Number(values.test),
          iterations: Number(values.iterations),
          shots: values.shots.split(',').map(Number),
          draws: Number(values.draws),
          top: Number(values.top),
          views: values.views as GraphViewRule,
          topN: Number(values.topN),
          pictures: dir,
          graphFile: join(values.work, `${category}.egraph`),
          ...(index === 0 ? { browser: join(dir, 'browser') } : {}),
          log,
        },
      );
      await writeFile(
        file,
        `${JSON.stringify({ measuredAt: new Date().toISOString(), backend: selection.id, ...result }, null, 2)}\n`,
      );
      log(`${category}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    } finally {
      network.dispose();
    }
  }

  const runs: GraphRunResult[] = [];
  for (const name of (await readdir(join(dir, 'runs'))).sort())
    runs.push(JSON.parse(await readFile(join(dir, 'runs', name), 'utf8')) as GraphRunResult);
  const report = formatGraphReport(runs, {
    backend: selection.id,
    command: 'npx nx run experiments:explanatory-graph',
  });
  await writeFile(join(values.results, 'explanatory-graph.md'), report);
  await writeFile(
    join(values.results, 'explanatory-graph.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), backend: selection.id, runs }, null, 2)}\n`,
  );
  process.stdout.write(report);
}
