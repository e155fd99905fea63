import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { ADAPTER_TRAINING_DEFAULTS, transplant } from '@transplant/distill';
import { cellKey, cellNetworks, cellSteps, formatPaperTables, type Cell } from './paper-table-format';

/**
 * `nx run experiments:paper-table`: docs/methods.md §9.1 on the zoo. For each category, a 1-conv and a
 * 3-conv adapter (He-normal: learned from scratch) is trained with OL, BD and KD on N annotated
 * samples (BD and KD also see 200 unlabeled negatives; OL sees them labelled) — (1) inserted
 * between the category's own f and g, teacher = the network itself; (2) a real transplant,
 * g from another category's classifier. Every finished cell is saved at once; a rerun skips
 * them, so the table fills in over several sittings.
 */
/** Options of `nx run experiments:paper-table` (its schema.json holds the same names, types and defaults). */
export interface PaperTableOptions {
  /** Comma-separated categories. */
  readonly categories: string;
  /** Comma-separated adapter depths (1, 3). */
  readonly adapters: string;
  /** Comma-separated annotated sample counts. */
  readonly samples: string;
  /** Comma-separated methods (ol, bd, kd). */
  readonly methods: string;
  /** Comma-separated modes (inserted, transplanted). */
  readonly modes: string;
  /** Steps per cell of the inserted adapters. */
  readonly steps: number;
  /**
   * Steps per cell of the real transplants: an adapter from scratch between two categories'
   * modules converges more slowly; at 300 steps BD with 0 samples sat 2.55 points above BD
   * with 100 (1-conv), at 1000 the cat and dog cells measured 1.0 and 1.75.
   */
  readonly transplantSteps: number;
  readonly seed: number;
  readonly registry: string;
  readonly results: string;
}

export const PAPER_TABLE_DEFAULTS: PaperTableOptions = {
  categories: 'cat,cow,dog,horse,sheep',
  adapters: '1,3',
  samples: '100,50,20,10,0',
  methods: 'ol,bd,kd',
  modes: 'inserted,transplanted',
  steps: ADAPTER_TRAINING_DEFAULTS.steps,
  transplantSteps: 1000,
  seed: ADAPTER_TRAINING_DEFAULTS.seed,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

export async function runPaperTable(options: Partial<PaperTableOptions> = {}): Promise<void> {
  const values = { ...PAPER_TABLE_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const categories = values.categories.split(',');
  const samples = values.samples.split(',').map(Number);
  /** The donor of each real transplant: the task module comes from this category's classifier. */
  const DONOR: Record<string, string> = { cat: 'dog', dog: 'cat', cow: 'horse', horse: 'cow', sheep: 'cow' };

  const selection = await platform.backendSelector.select({ env: process.env });
  const registry = await platform.openRegistry(values.registry);
  const composer = new Composer(registry, platform.plugins);
  /** `cat-cls@1.1.0`: the version a transplant of `cat-cls` uses now (the latest). */
  const current = async (name: string) => `${name}@${(await registry.resolve(name)).version}`;
  const file = join(values.results, 'paper-table.json');
  await mkdir(values.results, { recursive: true });
  const stepsFor = (mode: Cell['mode']) =>
    Number(mode === 'inserted' ? values.steps : values.transplantSteps);
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
    `# Network transplanting on the zoo (docs/methods.md §9.1 form; back end ${saved.backend}; steps per cell in each table's heading)\n\nError rates in %, held-out (200 target + 200 negative test images); "paper avg" is docs/methods.md §9.1.\n\n${tables}`,
  );
  process.stdout.write(`${tables}\n`);
}
