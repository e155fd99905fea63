import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { isCategoryId, type CategoryId } from '@transplant/data';
import { GRAPH_VIEW_RULES, type GraphViewRule } from '@transplant/explanatory-graph';
import { formatGraphReport, runGraphCategory, type GraphRunResult } from './explanatory-graph-runs';

// The composition root: one container for this run.
const platform = createPlatform(process.env);

/**
 * methods.md §9.3 and §3.7 on the synthetic data: per category, an explanatory graph mined from
 * its zoo classification network; few-shot part localization against the baselines; node vs
 * filter instability; pictures and (for the first category) the HTML browser. Resumable: one
 * JSON per category, run again when it names another version of the network than the latest;
 * the report is rebuilt from every file present.
 */
const { values } = parseArgs({
  options: {
    categories: { type: 'string', default: 'bird,cat,cow,dog,horse,sheep' },
    images: { type: 'string', default: '200' },
    negatives: { type: 'string', default: '100' },
    test: { type: 'string', default: '200' },
    iterations: { type: 'string', default: '20' },
    shots: { type: 'string', default: '1,3,5' },
    draws: { type: 'string', default: '10' },
    top: { type: 'string', default: '10' },
    views: { type: 'string', default: 'align' },
    'top-n': { type: 'string', default: '20' },
    redo: { type: 'boolean', default: false },
    registry: { type: 'string', default: EMBEDDED_REGISTRY },
    results: { type: 'string', default: fileURLToPath(new URL('../results', import.meta.url)) },
    /** The graph files (not committed): `transplant graph inspect --graph …`. */
    work: { type: 'string', default: fileURLToPath(new URL('../.work/graphs', import.meta.url)) },
  },
});
if (!GRAPH_VIEW_RULES.includes(values.views as GraphViewRule))
  throw new Error(`--views must be one of ${GRAPH_VIEW_RULES.join(', ')}`);
const categories = values.categories
  .split(',')
  .filter(Boolean)
  .map((c) => {
    if (!isCategoryId(c)) throw new Error(`unknown category ${c}`);
    return c as CategoryId;
  });

const selection = await selectBackend();
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
    const result = await runGraphCategory(category, network, `${manifest.name}@${manifest.version}`, {
      images: Number(values.images),
      negatives: Number(values.negatives),
      test: Number(values.test),
      iterations: Number(values.iterations),
      shots: values.shots.split(',').map(Number),
      draws: Number(values.draws),
      top: Number(values.top),
      views: values.views as GraphViewRule,
      topN: Number(values['top-n']),
      pictures: dir,
      graphFile: join(values.work, `${category}.egraph`),
      ...(index === 0 ? { browser: join(dir, 'browser') } : {}),
      log,
    });
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
  command: 'npx nx run explanatory-graph:experiment',
});
await writeFile(join(values.results, 'explanatory-graph.md'), report);
await writeFile(
  join(values.results, 'explanatory-graph.json'),
  `${JSON.stringify({ generatedAt: new Date().toISOString(), backend: selection.id, runs }, null, 2)}\n`,
);
process.stdout.write(report);
