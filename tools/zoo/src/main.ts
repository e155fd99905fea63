import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EMBEDDED_REGISTRY,
  GENERATED_BY,
  createPlatform,
  resolveRegistryLocation,
} from '@transplant/platform';
import { trainZooNetwork, type ZooEntryResult } from './zoo-entry';
import {
  EXTRA_CATEGORIES,
  RECIPES,
  ZOO_CATEGORIES,
  ZOO_TASKS,
  networkName,
  planFor,
  zooVersion,
  type ZooVersion,
} from './zoo-spec';
import { formatZooTable } from './zoo-report';

/**
 * `nx run zoo:train [--only cat-cls,bird-seg] [--seed 7] [--stepsScale 1] [--registry DIR] [--publishVersion V]`:
 * trains, evaluates and publishes the zoo; a network already published is skipped, a
 * network interrupted mid-training resumes from its last checkpoint.
 */
/** Options of `nx run zoo:train` (its schema.json holds the same names, types and defaults). */
export interface ZooTrainOptions {
  /** Comma-separated networks to train (default: the whole zoo). */
  readonly only: string | undefined;
  readonly seed: number;
  readonly stepsScale: number;
  readonly registry: string | undefined;
  /**
   * Publish every network at this version with its recipe (default: each network's version in
   * ZOO_VERSIONS). Not `version`: nx takes `--version` for its own.
   */
  readonly publishVersion: string | undefined;
  readonly work: string;
  readonly results: string;
}

export const ZOO_TRAIN_DEFAULTS: ZooTrainOptions = {
  only: undefined,
  seed: 7,
  stepsScale: 1,
  registry: undefined,
  publishVersion: undefined,
  work: fileURLToPath(new URL('../.work', import.meta.url)),
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

export async function runZooTrain(options: Partial<ZooTrainOptions> = {}): Promise<void> {
  const values = { ...ZOO_TRAIN_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  // Every classifier first: the transplanting experiments need them most.
  const all = ZOO_TASKS.flatMap((task) => ZOO_CATEGORIES.map((category) => ({ category, task })));
  // deer and rabbit are held back from the zoo; --only trains them too.
  const trainable = [
    ...all,
    ...ZOO_TASKS.flatMap((task) => EXTRA_CATEGORIES.map((category) => ({ category, task }))),
  ];
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !trainable.some((e) => networkName(e.category, e.task) === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(
      `unknown zoo networks ${unknown.join(', ')}; the zoo trains ${trainable.map((e) => networkName(e.category, e.task)).join(', ')}`,
    );
  const entries = only ? trainable.filter((e) => only.includes(networkName(e.category, e.task))) : all;

  const selection = await platform.backendSelector.select({ env: process.env });
  const location = resolveRegistryLocation(values.registry ?? EMBEDDED_REGISTRY, process.env);
  const registry = await platform.openRegistry(location.location);
  const plugins = platform.plugins;
  const scale = Number(values.stepsScale);
  process.stderr.write(`zoo: ${entries.length} networks on ${selection.id} → ${location.location}\n`);

  const results: ZooEntryResult[] = [];
  for (const [i, entry] of entries.entries()) {
    const name = networkName(entry.category, entry.task);
    const version = values.publishVersion ?? zooVersion(name);
    if (!(version in RECIPES))
      throw new Error(`no zoo recipe for version ${version}; recipes: ${Object.keys(RECIPES).join(', ')}`);
    const recipe = RECIPES[version as ZooVersion];
    const plan = planFor(entry.task, version as ZooVersion, scale);
    const log = (line: string) => process.stderr.write(`[${i + 1}/${entries.length} ${name}] ${line}\n`);
    results.push(
      await trainZooNetwork({
        ...entry,
        plan,
        seed: Number(values.seed),
        version,
        batchNorm: recipe.batchNorm,
        ...('blocks' in recipe ? { blocks: recipe.blocks } : {}),
        registry,
        plugins,
        backend: selection.id,
        generatedBy: GENERATED_BY,
        checkpointDir: join(values.work, name),
        log,
      }),
    );
  }
  const table = formatZooTable(results);
  process.stdout.write(`${table}\n`);
  if (!only && scale === 1) {
    await mkdir(values.results, { recursive: true });
    await writeFile(
      join(values.results, 'zoo.json'),
      `${JSON.stringify({ backend: selection.id, seed: Number(values.seed), results }, null, 2)}\n`,
    );
    await writeFile(
      join(values.results, 'zoo.md'),
      `# Model zoo (seed ${values.seed}, back end ${selection.id})\n\n${table}\n`,
    );
  }
}
