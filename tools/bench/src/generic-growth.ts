import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { TransplantError, describeMachine } from '@transplant/core';
import { CATEGORY_IDS } from '@transplant/data';
import {
  ADAPTER_TRAINING_DEFAULTS,
  addCategory,
  addTask,
  createGeneric,
  loadGeneric,
  type GenericChange,
  type GenericContext,
} from '@transplant/distill';
import { FolderStore, Registry } from '@transplant/registry';

/**
 * `nx run bench:generic-growth`: grows one generic network category by category — bird-seg,
 * then the cls task (bird-cls's head), then every other category's seg network — on a copy of
 * the registry, and reports per addition the wall time, the adapter parameters added (and their
 * share of the network), the registry bytes added, and the new links' held-out metrics next to
 * the specific networks they came from. Categories without a `<c>-seg` network in the registry
 * are listed as missing (`nx run zoo:train --only deer-seg,rabbit-seg` trains the two held back).
 * Writes tools/bench/results/generic-growth.{json,md}.
 */
/** Options of `nx run bench:generic-growth` (its schema.json holds the same names, types and defaults). */
export interface GenericGrowthOptions {
  readonly registry: string;
  readonly steps: number;
  readonly results: string;
}

export const GENERIC_GROWTH_DEFAULTS: GenericGrowthOptions = {
  registry: EMBEDDED_REGISTRY,
  steps: ADAPTER_TRAINING_DEFAULTS.steps,
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

export async function runGenericGrowth(options: Partial<GenericGrowthOptions> = {}): Promise<void> {
  const values = { ...GENERIC_GROWTH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);

  async function bytes(path: string): Promise<number> {
    let total = 0;
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const p = join(path, entry.name);
      total += entry.isDirectory() ? await bytes(p) : (await stat(p)).size;
    }
    return total;
  }

  const selection = await platform.backendSelector.select({ env: process.env });
  const work = await mkdtemp(join(tmpdir(), 'transplant-growth-'));
  await cp(values.registry, join(work, 'registry'), { recursive: true });
  const registry = new Registry(new FolderStore(join(work, 'registry')));
  const composer = new Composer(registry, platform.plugins);
  const ctx: GenericContext = {
    composer,
    generatedBy: GENERATED_BY,
    backend: selection.id,
    log: (l) => process.stderr.write(`${l}\n`),
  };
  const steps = Number(values.steps);
  const exists = async (name: string) =>
    registry.index(name).then(
      () => true,
      (e: unknown) => {
        if (e instanceof TransplantError && e.code === 'E_MODULE_NOT_FOUND') return false;
        throw e;
      },
    );
  const cardMetric = async (name: string) =>
    (await exists(name)) ? (await registry.manifest(name)).manifest.card.metrics[0] : undefined;

  interface Row {
    readonly step: string;
    readonly version: string;
    readonly wallSeconds: number;
    readonly adapterParameters: number;
    readonly networkParameters: number;
    readonly registryBytes: number;
    readonly links: {
      link: string;
      status: string;
      metric?: { name: string; value: number };
      specific?: { network: string; name: string; value: number };
      reason?: string;
      annotatedImages?: number;
      calibration?: string;
    }[];
  }
  const rows: Row[] = [];
  const missing: string[] = [];
  const name = 'growth';

  async function record(step: string, change: GenericChange, before: number) {
    const g = await loadGeneric(composer, `${name}@${change.version}`);
    const networkParameters = [...g.network.modules.values()].reduce(
      (n, m) => n + m.built.layers.reduce((k, l) => k + l.countParams(), 0),
      0,
    );
    // The task of each task module, from its manifest (not its name), read before the weights go.
    const taskOf = new Map([...g.network.modules].map(([name, m]) => [name, m.task]));
    g.network.dispose();
    const links = [];
    for (const l of change.links) {
      const [category, task] = l.link.split(' → ') as [string, string];
      const cat = category.replace(/-(cls|seg)-features$/, '');
      const taskId = taskOf.get(task);
      if (taskId === undefined) throw new Error(`${task} is not a task module of ${change.name}`);
      const specific = await cardMetric(`${cat}-${taskId}`);
      links.push({
        link: l.link,
        status: l.method ? `${l.status} (${l.method})` : l.status,
        ...(l.metric ? { metric: l.metric } : {}),
        ...(specific
          ? { specific: { network: `${cat}-${taskId}`, name: specific.name, value: specific.value } }
          : {}),
        ...(l.reason ? { reason: l.reason } : {}),
        ...(l.annotatedImages !== undefined ? { annotatedImages: l.annotatedImages } : {}),
        ...(l.calibration ? { calibration: l.calibration.mode } : {}),
      });
    }
    const row: Row = {
      step,
      version: change.version,
      wallSeconds: change.wallSeconds,
      adapterParameters: change.links.reduce((n, l) => n + (l.adapterParameters ?? 0), 0),
      networkParameters,
      registryBytes: (await bytes(join(work, 'registry'))) - before,
      links,
    };
    rows.push(row);
    process.stderr.write(
      `${step}: ${name}@${change.version} in ${row.wallSeconds.toFixed(0)} s, +${row.adapterParameters} adapter parameters, +${row.registryBytes} registry bytes\n`,
    );
  }

  try {
    let before = await bytes(join(work, 'registry'));
    await record('create from bird-seg', await createGeneric(ctx, { name, from: ['bird-seg'] }), before);
    before = await bytes(join(work, 'registry'));
    await record(
      'add-task from bird-cls',
      await addTask(ctx, { generic: name, from: 'bird-cls', training: { steps } }),
      before,
    );
    for (const category of CATEGORY_IDS.filter((c) => c !== 'bird')) {
      if (!(await exists(`${category}-seg`))) {
        missing.push(`${category}-seg`);
        continue;
      }
      before = await bytes(join(work, 'registry'));
      await record(
        `add-category from ${category}-seg`,
        await addCategory(ctx, { generic: name, from: `${category}-seg`, training: { steps } }),
        before,
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(2)} %`;
  const fmt = (m?: { name: string; value: number }) => (m ? `${m.name} ${m.value.toFixed(4)}` : '–');
  const table = [
    `# Growing a generic network (back end ${selection.id}, ${steps} steps per adapter)`,
    '',
    "One run (seed 1). A learned link's metric is on its dev split (docs/protocol.md); the specific network's, in brackets, is its card's number from its training run. Annotated images: target-category images with labels the link used (the seg → cls bridge is calibrated without labels by default, docs/calibration.md).",
    '',
    '| addition | version | wall time | adapter parameters added | of the network | registry bytes added | new links: held-out metric (specific network it came from) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.step} | ${r.version} | ${r.wallSeconds.toFixed(0)} s | ${r.adapterParameters} | ${pct(r.adapterParameters, r.networkParameters)} of ${r.networkParameters} | ${r.registryBytes} | ${r.links.map((l) => `${l.link}: ${l.status} ${fmt(l.metric)}${l.annotatedImages !== undefined ? `, ${l.annotatedImages} annotated images${l.calibration ? `, ${l.calibration} calibration` : ''}` : ''} (${l.specific ? `${l.specific.network} ${fmt(l.specific)}` : '–'})`).join('; ')} |`,
    ),
    '',
    missing.length > 0
      ? `Not added (no specific network in the registry): ${missing.join(', ')}.`
      : 'Every synthetic category was added.',
    '',
  ].join('\n');
  await mkdir(values.results, { recursive: true });
  await writeFile(
    join(values.results, 'generic-growth.json'),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: describeMachine(), backend: selection.id, steps, rows, missing }, null, 2)}\n`,
  );
  await writeFile(join(values.results, 'generic-growth.md'), table);
  process.stdout.write(table);
}
