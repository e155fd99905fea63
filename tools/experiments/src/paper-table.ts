import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EMBEDDED_REGISTRY, GENERATED_BY, builtinPlugins } from '@transplant/cli';
import { Composer } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { ADAPTER_TRAINING_DEFAULTS, transplant } from '@transplant/distill';
import { Registry, openStore } from '@transplant/registry';
import { cellKey, cellNetworks, cellSteps, formatPaperTables, type Cell } from './paper-table-format';

/**
 * `nx run distill:paper-table`: methods.md §9.1 on the zoo. For each category, a 1-conv and a
 * 3-conv adapter (He-normal: learned from scratch) is trained with OL, BD and KD on N annotated
 * samples (BD and KD also see 200 unlabeled negatives; OL sees them labelled) — (1) inserted
 * between the category's own f and g, teacher = the network itself; (2) a real transplant,
 * g from another category's classifier. Every finished cell is saved at once; a rerun skips
 * them, so the table fills in over several sittings.
 */
const { values } = parseArgs({
  options: {
    categories: { type: 'string', default: 'cat,cow,dog,horse,sheep' },
    adapters: { type: 'string', default: '1,3' },
    samples: { type: 'string', default: '100,50,20,10,0' },
    methods: { type: 'string', default: 'ol,bd,kd' },
    modes: { type: 'string', default: 'inserted,transplanted' },
    /** Steps per cell of the inserted adapters. */
    steps: { type: 'string', default: String(ADAPTER_TRAINING_DEFAULTS.steps) },
    /**
     * Steps per cell of the real transplants: an adapter from scratch between two categories'
     * modules converges more slowly; at 300 steps BD with 0 samples sat 2.55 points above BD
     * with 100 (1-conv), at 1000 the cat and dog cells measured 1.0 and 1.75.
     */
    'transplant-steps': { type: 'string', default: '1000' },
    seed: { type: 'string', default: String(ADAPTER_TRAINING_DEFAULTS.seed) },
    registry: { type: 'string', default: EMBEDDED_REGISTRY },
    results: { type: 'string', default: fileURLToPath(new URL('../results', import.meta.url)) },
  },
});
const categories = values.categories.split(',');
const samples = values.samples.split(',').map(Number);
/** The donor of each real transplant: the task module comes from this category's classifier. */
const DONOR: Record<string, string> = { cat: 'dog', dog: 'cat', cow: 'horse', horse: 'cow', sheep: 'cow' };

const selection = await selectBackend();
const registry = new Registry(await openStore(values.registry, process.env));
const composer = new Composer(registry, builtinPlugins());
/** `cat-cls@1.1.0`: the version a transplant of `cat-cls` uses now (the latest). */
const current = async (name: string) => `${name}@${(await registry.resolve(name)).version}`;
const file = join(values.results, 'paper-table.json');
await mkdir(values.results, { recursive: true });
const stepsFor = (mode: Cell['mode']) =>
  Number(mode === 'inserted' ? values.steps : values['transplant-steps']);
const saved: { backend: string; cells: Cell[] } = await readFile(file, 'utf8').then(
  (t) => {
    // Files from before per-cell steps also held one `steps` for the whole table: dropped, each cell says its own.
    const { backend, cells } = JSON.parse(t) as { backend: string; cells: Cell[] };
    return { backend, cells };
  },
  () => ({ backend: selection.id, cells: [] }),
);
// A cell computed with other versions of its networks than the registry's latest, or with other steps, is stale: computed again.
const fresh: Cell[] = [];
for (const c of saved.cells) {
  const used = cellNetworks(c);
  if (cellSteps(c) !== stepsFor(c.mode))
    process.stderr.write(
      `${cellKey(c)} ran ${cellSteps(c)} steps, not ${stepsFor(c.mode)}: stale, computed again\n`,
    );
  else if (used.from === (await current(c.from)) && used.to === (await current(`${c.category}-cls`)))
    fresh.push({ ...c, steps: cellSteps(c) });
  else
    process.stderr.write(
      `${cellKey(c)} was computed with ${used.to} ← ${used.from}: stale, computed again\n`,
    );
}
saved.cells = fresh;
const done = new Set(saved.cells.map(cellKey));
for (const mode of values.modes.split(',') as Cell['mode'][]) {
  for (const category of categories) {
    for (const layers of values.adapters.split(',').map(Number) as (1 | 3)[]) {
      for (const n of samples) {
        for (const method of values.methods.split(',') as Cell['method'][]) {
          const cell = { mode, category, layers, samples: n, method };
          if ((method === 'ol' && n === 0) || done.has(cellKey(cell))) continue;
          const from = mode === 'inserted' ? `${category}-cls` : `${DONOR[category] ?? 'bird'}-cls`;
          const networks = { from: await current(from), to: await current(`${category}-cls`) };
          process.stderr.write(`${cellKey(cell)} (${networks.to}, task module of ${networks.from})… `);
          const started = performance.now();
          const r = await transplant({
            composer,
            from,
            to: `${category}-cls`,
            method,
            samples: n,
            adapterLayers: layers,
            adapterInit: 'he-normal',
            steps: stepsFor(mode),
            seed: Number(values.seed),
            generatedBy: GENERATED_BY,
            backend: selection.id,
            publish: false,
          });
          const seconds = (performance.now() - started) / 1000;
          process.stderr.write(`error ${(100 * r.metric.value).toFixed(2)} % (${seconds.toFixed(0)} s)\n`);
          saved.cells.push({
            ...cell,
            from,
            networks,
            error: r.metric.value,
            seconds,
            steps: stepsFor(mode),
          });
          done.add(cellKey(cell));
          await writeFile(file, `${JSON.stringify(saved, null, 2)}\n`);
        }
      }
    }
  }
}
const tables = formatPaperTables(saved.cells, categories, samples);
await writeFile(
  join(values.results, 'paper-table.md'),
  `# Network transplanting on the zoo (methods.md §9.1 form; back end ${saved.backend}; steps per cell in each table's heading)\n\nError rates in %, held-out (200 target + 200 negative test images); "paper avg" is methods.md §9.1.\n\n${tables}`,
);
process.stdout.write(`${tables}\n`);
