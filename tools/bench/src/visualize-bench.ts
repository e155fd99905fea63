import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '@transplant/core';
import { Composer } from '@transplant/composer';
import { isCategoryId } from '@transplant/data';
import { visualizeNetworkUnits } from '@transplant/interpretable';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';

/**
 * Feature visualization's time per unit (docs/visualize.md) on a zoo network, in one run: the
 * same filters optimized all in one batch, and one at a time, after a warm-up, alternately,
 * twice each (the means are reported). Writes
 * tools/bench/results/visualize.json.
 */
/** Options of `nx run bench:visualize` (its schema.json holds the same names, types and defaults). */
export interface VisualizeBenchOptions {
  readonly net: string;
  readonly layer: string;
  /** Filters 0 … units − 1 of the layer. */
  readonly units: number;
  readonly steps: number;
  /** Write tools/bench/results/visualize.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const VISUALIZE_BENCH_DEFAULTS: VisualizeBenchOptions = {
  net: 'bird-cls',
  layer: 'block2_conv1',
  units: 16,
  steps: 64,
  write: true,
};

export async function runVisualizeBench(options: Partial<VisualizeBenchOptions> = {}): Promise<void> {
  const values = { ...VISUALIZE_BENCH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({
    requested: process.env['TRANSPLANT_BACKEND'],
    env: process.env,
  });
  const composer = new Composer(await platform.openRegistry(EMBEDDED_REGISTRY), platform.plugins);
  const { network, manifest } = await composer.load(values.net);
  const link = network.links[0]!;
  const category = network.module(link.category).category ?? '';
  if (!isCategoryId(category)) throw new Error(`${values.net} names no synthetic category`);
  const units = Array.from({ length: Number(values.units) }, (_, f) => ({
    label: `filter ${f}`,
    channels: [f],
  }));
  const steps = Number(values.steps);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const run = (batch: number) => {
    const r = visualizeNetworkUnits({ network, link, layer: values.layer, units, category, steps, batch });
    log(`batch ${batch}: ${r.ms.toFixed(0)} ms, ${r.msPerUnit.toFixed(0)} ms per unit`);
    return { batch, ms: r.ms, msPerUnit: r.msPerUnit, size: r.size, layer: r.layer };
  };
  log(
    `visualizing ${units.length} filters of ${values.net} ${values.layer}, ${steps} steps, batched and one at a time…`,
  );
  // Warm-up (the back end's first calls of each shape allocate and compile), then the two ways
  // alternately, twice each, so that a change in the machine's load falls on both.
  visualizeNetworkUnits({
    network,
    link,
    layer: values.layer,
    units,
    category,
    steps: 2,
    batch: units.length,
  });
  visualizeNetworkUnits({
    network,
    link,
    layer: values.layer,
    units: units.slice(0, 1),
    category,
    steps: 2,
    batch: 1,
  });
  const rounds = [run(units.length), run(1), run(units.length), run(1)];
  const mean = (batch: number) => {
    const of = rounds.filter((r) => r.batch === batch);
    const ms = of.reduce((s, r) => s + r.ms, 0) / of.length;
    return { batch, ms, msPerUnit: ms / units.length, rounds: of.map((r) => r.ms) };
  };
  const batched = { ...mean(units.length), layer: rounds[0]!.layer, size: rounds[0]!.size };
  const single = mean(1);
  network.dispose();
  const result = {
    case: 'visualize',
    network: `${manifest.name}@${manifest.version}`,
    layer: batched.layer,
    size: batched.size,
    units: units.length,
    steps,
    backend: selection.id,
    machine: describeMachine(),
    batched: { batch: batched.batch, ms: batched.ms, msPerUnit: batched.msPerUnit, rounds: batched.rounds },
    oneAtATime: single,
    speedup: single.ms / batched.ms,
    createdAt: new Date().toISOString(),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/visualize.json`, `${JSON.stringify(result, null, 2)}\n`);
  }
}
