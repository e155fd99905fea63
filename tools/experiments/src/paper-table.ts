import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, GENERATED_BY, createPlatform } from '@transplant/platform';
import { Composer } from '@transplant/composer';
import { TransplantError, describeMachine, formatMachine, writeFileWhole } from '@transplant/core';
import { transplant, type TransplantResult } from '@transplant/distill';
import { categoryList } from './category-list';
import {
  cellKey,
  formatPaperTables,
  formatTuning,
  teacherKey,
  type Cell,
  type PaperTableFile,
  type Settings,
  type TeacherCell,
  type TuningFile,
  type TuningRun,
} from './paper-table-format';
import { packOutcomes } from './stats';

/**
 * `nx run experiments:paper-table`: docs/methods.md §9.1 on the zoo, under docs/protocol.md.
 * For each category, a 1-conv and a 3-conv adapter learned from scratch is trained with OL, BD
 * and KD on N annotated samples (BD and KD also see 200 unlabeled negatives; OL sees them
 * labelled) — (1) inserted between the category's own f and g, teacher = the network itself;
 * (2) a real transplant, g from another category's classifier.
 *
 * Three phases, one per flag: `--tune` runs the same small grid for every method on dev and
 * writes the chosen settings; a plain run evaluates the table on dev with them; `--final` reads
 * the final test, once per cell and seed, with the settings `--tune` chose. Every finished cell
 * is saved at once and a rerun skips it, so a table fills in over several sittings.
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
  /** Comma-separated seeds: each sets the training seed and the data seed of a run. */
  readonly seeds: string;
  /** Run the tuning grid on dev (and write the chosen settings) instead of the table. */
  readonly tune: boolean;
  /** Comma-separated categories the grid is run on. */
  readonly tuneCategories: string;
  /** Comma-separated sample counts the grid is run on. */
  readonly tuneSamples: string;
  /** Comma-separated step counts the grid evaluates (one run per setting, evaluated after each). */
  readonly tuneSteps: string;
  /** Comma-separated learning rates of the dev grid (Adam). */
  readonly tuneLearningRates: string;
  /** The final run: every cell on the final test, with the settings the grid chose. */
  readonly final: boolean;
  readonly registry: string;
  readonly results: string;
}

export const PAPER_TABLE_DEFAULTS: PaperTableOptions = {
  categories: 'cat,cow,dog,horse,sheep',
  adapters: '1,3',
  samples: '100,50,20,10,0',
  methods: 'ol,bd,kd',
  modes: 'inserted,transplanted',
  seeds: '1,2,3',
  tune: false,
  tuneCategories: 'cat,horse',
  tuneSamples: '10,0',
  tuneSteps: '300,1000',
  tuneLearningRates: '0.001',
  final: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

/** The donor of each real transplant: the task module comes from this category's classifier. */
const DONOR: Record<string, string> = { cat: 'dog', dog: 'cat', cow: 'horse', horse: 'cow', sheep: 'cow' };
const numbers = (list: string) => String(list).split(',').map(Number);

/**
 * The grid every method gets (the same budget for ours and the baselines): steps, and for real
 * transplants the adapter's start — identity (g sees f's features as they are) or He-normal
 * (from scratch). An inserted adapter always starts He-normal: started as the identity, it
 * would begin as the teacher itself and the experiment would measure nothing.
 */
function grid(mode: Cell['mode']): Settings['init'][] {
  return mode === 'inserted' ? ['he-normal'] : ['identity', 'he-normal'];
}

export async function runPaperTable(options: Partial<PaperTableOptions> = {}): Promise<void> {
  const values = { ...PAPER_TABLE_DEFAULTS, ...options };
  if (values.tune && values.final)
    throw new TransplantError('E_INVALID_ARGUMENT', '--tune and --final are two phases: pass one of them', {
      operation: 'paper-table',
    });
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({ env: process.env });
  const registry = await platform.openRegistry(values.registry);
  const composer = new Composer(registry, platform.plugins);
  /** `cat-cls@1.1.0`: the version a transplant of `cat-cls` uses now (the latest). */
  const current = async (name: string) => `${name}@${(await registry.resolve(name)).version}`;
  const networksOf = async (mode: Cell['mode'], category: string) => {
    const from = mode === 'inserted' ? `${category}-cls` : `${DONOR[category] ?? 'bird'}-cls`;
    return { from, networks: { from: await current(from), to: await current(`${category}-cls`) } };
  };
  await mkdir(values.results, { recursive: true });
  const machine = formatMachine(describeMachine());
  const run = async (
    cell: Pick<Cell, 'mode' | 'category' | 'layers' | 'samples' | 'method' | 'seed'>,
    settings: Settings,
    evaluateAt?: number[],
  ): Promise<TransplantResult & { from: string; networks: Cell['networks']; seconds: number }> => {
    const { from, networks } = await networksOf(cell.mode, cell.category);
    process.stderr.write(
      `${cellKey(cell)} (${networks.to} ← ${networks.from}; ${settings.init}, ${settings.steps} steps)… `,
    );
    const started = performance.now();
    const r = await transplant({
      composer,
      from,
      to: `${cell.category}-cls`,
      method: cell.method,
      samples: cell.samples,
      adapterLayers: cell.layers,
      adapterInit: settings.init,
      balanced: cell.method === 'ol',
      steps: settings.steps,
      ...(evaluateAt ? { evaluateAt } : {}),
      learningRate: settings.learningRate,
      seed: cell.seed,
      final: values.final,
      generatedBy: GENERATED_BY,
      backend: selection.id,
      publish: false,
    });
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`error ${(100 * r.metric.value).toFixed(2)} % (${seconds.toFixed(0)} s)\n`);
    return { ...r, from, networks, seconds };
  };

  const tuningFile = join(values.results, 'paper-table-tuning.json');
  if (values.tune) {
    const steps = numbers(values.tuneSteps).sort((a, b) => a - b);
    const saved: TuningFile = await readFile(tuningFile, 'utf8').then(
      (t) => JSON.parse(t) as TuningFile,
      () => ({ backend: selection.id, machine, split: 'dev', runs: [], chosen: {} }),
    );
    const key = (r: Omit<TuningRun, 'errors' | 'seconds' | 'steps'>) =>
      `${cellKey(r)}/${r.init}/lr${r.learningRate}/${r.seed}`;
    const done = new Set(saved.runs.map(key));
    for (const mode of values.modes.split(',') as Cell['mode'][])
      for (const category of categoryList(values.tuneCategories))
        for (const samples of numbers(values.tuneSamples))
          for (const method of values.methods.split(',') as Cell['method'][])
            for (const init of grid(mode))
              for (const learningRate of numbers(String(values.tuneLearningRates))) {
                const cell = { mode, category, layers: 1 as const, samples, method, seed: 1 };
                const spec = { ...cell, init, learningRate };
                if ((method === 'ol' && samples === 0) || done.has(key(spec))) continue;
                const r = await run(cell, { init, learningRate, steps: steps.at(-1)! }, steps.slice(0, -1));
                const errors = [...r.curve.map((c) => c.metric.value), r.metric.value];
                saved.runs.push({ ...spec, steps, errors, seconds: r.seconds });
                done.add(key(spec));
                saved.chosen = chooseSettings(saved.runs);
                await writeFileWhole(tuningFile, `${JSON.stringify(saved, null, 2)}\n`, 'experiment');
              }
    saved.chosen = chooseSettings(saved.runs);
    await writeFileWhole(tuningFile, `${JSON.stringify(saved, null, 2)}\n`, 'experiment');
    const text = formatTuning(saved);
    await writeFileWhole(join(values.results, 'paper-table-tuning.md'), text, 'experiment');
    process.stdout.write(`${text}\n`);
    return;
  }

  const tuning: TuningFile = await readFile(tuningFile, 'utf8').then(
    (t) => JSON.parse(t) as TuningFile,
    () => {
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `no tuned settings at ${tuningFile}: run the grid on dev first (nx run experiments:paper-table --tune)`,
        { operation: 'paper-table' },
      );
    },
  );
  const split = values.final ? 'test' : 'dev';
  const base = values.final ? 'paper-table' : 'paper-table-dev';
  const file = join(values.results, `${base}.json`);
  const saved: PaperTableFile = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as PaperTableFile,
    () => ({ backend: selection.id, machine, split, cells: [], teachers: [] }),
  );
  if (saved.split !== split)
    throw new TransplantError('E_INVALID_ARGUMENT', `${file} holds ${saved.split} cells, not ${split}`, {
      operation: 'paper-table',
    });
  // A cell computed with other networks than the registry's latest, or other settings, is stale.
  const fresh: Cell[] = [];
  for (const c of saved.cells) {
    const want = tuning.chosen[c.mode]?.[c.method];
    const { networks } = await networksOf(c.mode, c.category);
    if (
      want &&
      want.init === c.settings.init &&
      want.steps === c.settings.steps &&
      want.learningRate === c.settings.learningRate &&
      networks.to === c.networks.to &&
      networks.from === c.networks.from
    )
      fresh.push(c);
    else process.stderr.write(`${cellKey(c)}: stale (settings or networks changed), computed again\n`);
  }
  saved.cells = fresh;
  const done = new Set(saved.cells.map(cellKey));
  const teachers = new Set(saved.teachers.map(teacherKey));
  const categories = categoryList(values.categories);
  const samples = numbers(values.samples);
  for (const seed of numbers(values.seeds))
    for (const mode of values.modes.split(',') as Cell['mode'][])
      for (const category of categories)
        for (const layers of numbers(values.adapters) as (1 | 3)[])
          for (const n of samples)
            for (const method of values.methods.split(',') as Cell['method'][]) {
              const cell = { mode, category, layers, samples: n, method, seed };
              if ((method === 'ol' && n === 0) || done.has(cellKey(cell))) continue;
              const settings = tuning.chosen[mode]?.[method];
              if (!settings)
                throw new TransplantError(
                  'E_INVALID_ARGUMENT',
                  `the grid chose no settings for ${mode}/${method}: run --tune with that mode and method`,
                  { operation: 'paper-table' },
                );
              const r = await run(cell, settings);
              saved.cells.push({
                ...cell,
                from: r.from,
                networks: r.networks,
                settings,
                error: r.metric.value,
                wrong: packOutcomes(r.evaluation.images.map((c) => c.a)),
                images: r.evaluation.images.length,
                seconds: r.seconds,
              });
              done.add(cellKey(cell));
              const teacher = { category, seed, network: r.networks.to };
              if (r.referenceEvaluation && !teachers.has(teacherKey(teacher))) {
                saved.teachers.push({
                  ...teacher,
                  error: r.reference!.value,
                  wrong: packOutcomes(r.referenceEvaluation.images.map((c) => c.a)),
                  images: r.referenceEvaluation.images.length,
                } satisfies TeacherCell);
                teachers.add(teacherKey(teacher));
              }
              await writeFileWhole(file, `${JSON.stringify(saved, null, 2)}\n`, 'experiment');
            }
  const tables = formatPaperTables(saved, categories, samples);
  await writeFileWhole(join(values.results, `${base}.md`), tables, 'experiment');
  process.stdout.write(`${tables}\n`);
}

/**
 * The settings each (mode, method) gets: the grid point with the lowest mean dev error over
 * the grid's categories and sample counts; on a tie, fewer steps, then the identity start.
 */
export function chooseSettings(runs: readonly TuningRun[]): TuningFile['chosen'] {
  const chosen: Record<string, Record<string, Settings>> = {};
  const groups = new Map<string, TuningRun[]>();
  for (const r of runs)
    groups.set(`${r.mode}/${r.method}`, [...(groups.get(`${r.mode}/${r.method}`) ?? []), r]);
  for (const [group, members] of groups) {
    const [mode, method] = group.split('/') as [string, string];
    const candidates: { settings: Settings; error: number }[] = [];
    const points = [...new Set(members.map((m) => `${m.init}/${m.learningRate}`))].sort();
    for (const point of points) {
      const same = members.filter((m) => `${m.init}/${m.learningRate}` === point);
      const { init, learningRate } = same[0]!;
      same[0]!.steps.forEach((steps, i) => {
        const error = same.reduce((a, m) => a + m.errors[i]!, 0) / same.length;
        candidates.push({ settings: { init, steps, learningRate }, error });
      });
    }
    // On a tie: fewer steps, then the identity start, then the smaller learning rate.
    candidates.sort(
      (a, b) =>
        a.error - b.error ||
        a.settings.steps - b.settings.steps ||
        (a.settings.init === 'identity' ? -1 : 1) - (b.settings.init === 'identity' ? -1 : 1) ||
        a.settings.learningRate - b.settings.learningRate,
    );
    (chosen[mode] ??= {})[method] = candidates[0]!.settings;
  }
  return chosen as TuningFile['chosen'];
}
