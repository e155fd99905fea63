import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { comparedInWords, formatInterval, formatP, pairedT, type SeedInterval } from './seed-stats';
import { TransplantError, describeMachine, formatMachine, writeFileWhole } from '@transplant/core';
import { interpretableExperiment, INTERPRETABLE_EXPERIMENT_DEFAULTS } from './interpretable';
import {
  INTERPRET_STREAMS,
  networkName,
  referenceInstability,
  heatmapName,
  runKey,
  sameRunSettings,
  settingKey,
  topLayer,
  type RunResult,
  type WantedRunSettings,
} from './interpretable-runs';
import { Composer } from '@transplant/composer';
import { FolderStore, Registry } from '@transplant/registry';
import { interpretLayer, networkModules, partImages, renderFilterHeatmaps } from '@transplant/interpretable';
import type { CategoryId } from '@transplant/data';
import { categoryList } from './category-list';
import {
  CELL_TABLE_HEAD,
  MULTI_STRENGTH_SHARE,
  SWEEP_GOAL,
  SWEEP_GRID,
  cellRow,
  meanBreakdown,
  partBreakdown,
  signedPct,
  signedPoints,
  chooseCell,
  summarizeCell,
  topMap,
  type CellSummary,
  type PartShare,
  type SweepCell,
} from './interpretable-sweep-runs';

/** Options of `nx run experiments:interpretable-sweep` (its schema.json holds the same names, types and defaults). */
export interface InterpretableSweepOptions {
  /** Comma-separated cell names to run (default: every cell of the grid), e.g. to run two processes side by side. */
  readonly cells: string | undefined;
  /** Comma-separated seeds; the first is the tuning seed. */
  readonly seeds: string;
  /** The learning-rate grid of both kinds, chosen on dev on the first seed. */
  readonly learningRates: string;
  /** Comma-separated categories of the multi-category check of the chosen cell (fewer than two: none). */
  readonly multi: string;
  /** Measure the cell chosen on dev on the final test, once. */
  readonly final: boolean;
  /** Rebuild the report from the stored runs without training. */
  readonly report: boolean;
  readonly registry: string;
  readonly results: string;
  readonly workRegistry: string;
}

export const INTERPRETABLE_SWEEP_DEFAULTS: InterpretableSweepOptions = {
  cells: undefined,
  seeds: '1,2,3',
  learningRates: '0.001,0.003',
  multi: 'bird,cat,cow,dog,horse,sheep',
  final: false,
  report: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  workRegistry: fileURLToPath(new URL('../.work/interpretable-sweep', import.meta.url)),
};

/** The folder of a cell's interpretable runs, and of the ordinary runs its architecture and training length share. */
export const cellFolders = (cell: SweepCell) => ({
  interpretable: cell.name,
  ordinary: `${cell.arch}-s${cell.steps}-ordinary`,
  /** Both kinds of the multi-category check (run for the chosen cell only). */
  multi: `${cell.name}-multi`,
});

const numberList = (text: string | number) =>
  String(text)
    .split(',')
    .map((v) => Number(v.trim()));

/** The runs stored in a folder; with `wanted`, only those made with these settings (a stale run does not count). */
async function readRuns(dir: string, wanted?: WantedRunSettings): Promise<RunResult[]> {
  const names = await readdir(join(dir, 'interpretable', 'runs')).catch(() => [] as string[]);
  const runs: RunResult[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort())
    runs.push(JSON.parse(await readFile(join(dir, 'interpretable', 'runs', name), 'utf8')) as RunResult);
  return wanted ? runs.filter((r) => sameRunSettings(r, wanted)) : runs;
}

/** The settings a cell's runs are made with (the interpretable experiment's defaults for the rest). */
export function cellSettings(
  cell: SweepCell,
  part: 'ordinary' | 'interpretable' | 'multi',
): WantedRunSettings {
  const d = INTERPRETABLE_EXPERIMENT_DEFAULTS;
  return {
    steps: cell.steps,
    batchSize: d.batchSize,
    images: d.images,
    testPerClass: d.testPerClass,
    blocks: cell.blocks,
    crop: d.view === 'crop',
    imageSize: cell.size,
    filterLoss: cell.loss,
    lambda: cell.lambda,
    strength: part === 'multi' ? cell.strength * MULTI_STRENGTH_SHARE : cell.strength,
    mask: d.mask,
  };
}

/** What a final run read (interpretable-sweep/final.json): a later --final must ask for the same. */
interface FinalRecord {
  readonly cell: string;
  readonly seeds: readonly number[];
  readonly grid: readonly number[];
  readonly learningRates: CellSummary['learningRates'];
  readonly multi: readonly string[];
  readonly multiLearningRates: CellSummary['learningRates'] | null;
}

/** What the sweep runs networks with (a test hands in its own). */
export interface SweepDependencies {
  readonly experiment: typeof interpretableExperiment;
  /** Where the report is printed (default stdout). */
  readonly print?: (text: string) => void;
}

/**
 * The interpretable-layer sweep (docs/results.md): every cell of `SWEEP_GRID` trains the
 * ordinary and the interpretable network of its architecture under docs/protocol.md (each
 * kind's learning rate chosen on dev on the first seed, then every seed), the ordinary runs
 * shared by the cells of one architecture and training length. The report compares the
 * cells on dev and names the cell chosen by `chooseCell`; `--final` measures that cell on the
 * final test, once, and refuses (E_PROTOCOL) when another cell already holds final-test
 * numbers. Resumable: every network is one file.
 */
export async function runInterpretableSweep(
  options: Partial<InterpretableSweepOptions> = {},
  { experiment: runExperiment, print = (text) => process.stdout.write(text) }: SweepDependencies = {
    experiment: interpretableExperiment,
  },
): Promise<void> {
  const values = { ...INTERPRETABLE_SWEEP_DEFAULTS, ...options };
  const seeds = numberList(values.seeds);
  const grid = numberList(values.learningRates);
  const usage = (detail: string, details?: unknown) =>
    new TransplantError('E_INVALID_ARGUMENT', detail, { operation: 'interpretable-sweep', details });
  if (
    seeds.length < 3 ||
    seeds.some((v) => !Number.isInteger(v) || v < 1) ||
    new Set(seeds).size < seeds.length
  )
    throw usage(
      `--seeds: at least 3 distinct positive integers (a reported cell needs 3 seeds), got ${values.seeds}`,
    );
  if (grid.some((l) => !(l > 0)))
    throw usage(`--learning-rates: positive numbers, got ${values.learningRates}`);
  if (values.final && values.cells) throw usage('--final reads the cell dev chose and takes no --cells');
  const root = join(values.results, 'interpretable-sweep');
  const wanted = values.cells
    ? new Set(
        String(values.cells)
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
    : null;
  if (wanted) {
    for (const name of wanted)
      if (!SWEEP_GRID.some((c) => c.name === name))
        throw usage(`--cells: no cell ${name} in the grid`, { cells: SWEEP_GRID.map((c) => c.name) });
    // Cells that share an ordinary folder go to one process: two would train the same networks into one work registry.
    for (const c of SWEEP_GRID.filter((x) => wanted.has(x.name))) {
      const siblings = SWEEP_GRID.filter(
        (x) => cellFolders(x).ordinary === cellFolders(c).ordinary && !wanted.has(x.name),
      );
      if (siblings.length)
        throw usage(
          `--cells: ${c.name} shares its ordinary networks (${cellFolders(c).ordinary}) with ${siblings.map((x) => x.name).join(', ')}; give them to the same process`,
        );
    }
  }
  const multi = categoryList(values.multi);
  const multiSetting = multi.length > 1 ? settingKey(multi) : null;
  /** The interpretable experiment's options for a cell: one kind of its single-category networks, or both of its multi-category check. */
  const experiment = (cell: SweepCell, part: 'ordinary' | 'interpretable' | 'multi', final: boolean) => ({
    ...INTERPRETABLE_EXPERIMENT_DEFAULTS,
    single: part === 'multi' ? '' : 'cat',
    multi: part === 'multi' ? multi.join(',') : '',
    runs: part === 'multi' ? undefined : `single-cat-${part}`,
    seeds: values.seeds,
    learningRates: values.learningRates,
    final,
    steps: cell.steps,
    blocks: JSON.stringify(cell.blocks),
    size: cell.size,
    loss: cell.loss,
    lambda: cell.lambda,
    strength: cell.strength,
    multiStrength: cell.strength * MULTI_STRENGTH_SHARE,
    registry: values.registry,
    results: join(root, cellFolders(cell)[part]),
    workRegistry: join(values.workRegistry, cellFolders(cell)[part]),
  });
  if (!values.report && !values.final)
    for (const cell of SWEEP_GRID.filter((c) => !wanted || wanted.has(c.name))) {
      process.stderr.write(`interpretable-sweep: cell ${cell.name}\n`);
      await runExperiment(experiment(cell, 'ordinary', false), { report: false });
      await runExperiment(experiment(cell, 'interpretable', false), { report: false });
    }

  const summarize = async (split: 'dev' | 'test') => {
    const out: CellSummary[] = [];
    for (const cell of SWEEP_GRID) {
      const folders = cellFolders(cell);
      const runs = [
        ...(await readRuns(join(root, folders.ordinary), cellSettings(cell, 'ordinary'))),
        ...(await readRuns(join(root, folders.interpretable), cellSettings(cell, 'interpretable'))),
      ];
      const s = summarizeCell(cell, runs, { grid, seeds, split });
      if (s) out.push(s);
    }
    return out;
  };
  const summarizeMulti = async (cell: SweepCell, split: 'dev' | 'test') =>
    multiSetting
      ? summarizeCell(
          cell,
          await readRuns(join(root, cellFolders(cell).multi), cellSettings(cell, 'multi')),
          {
            grid,
            seeds,
            split,
            setting: multiSetting,
          },
        )
      : null;
  const dev = await summarize('dev');
  const complete = dev.filter((s) => s.seeds.length === seeds.length).length;
  const choice = complete === SWEEP_GRID.length ? chooseCell(dev, seeds) : null;
  // The multi-category check of the chosen cell: by a run over the whole grid (not a --cells share of it).
  if (choice && multiSetting && !wanted && !values.report && !values.final) {
    process.stderr.write(`interpretable-sweep: multi-category check of ${choice.summary.cell.name}\n`);
    await runExperiment(experiment(choice.summary.cell, 'multi', false), { report: false });
  }
  const multiDev = choice ? await summarizeMulti(choice.summary.cell, 'dev') : null;
  let final: CellSummary | null = null;
  let multiFinal: CellSummary | null = null;
  if (values.final) {
    if (!choice || (multiSetting && multiDev?.seeds.length !== seeds.length))
      throw new TransplantError(
        'E_PROTOCOL',
        `the sweep is incomplete (${complete} of ${SWEEP_GRID.length} cells have every seed${choice && multiSetting ? '; the multi-category check has not run' : ''}): the final test is read only for the cell chosen on a complete dev sweep. Run the sweep without --final first (a run without --cells also runs the multi-category check)`,
        { operation: 'interpretable-sweep' },
      );
    // Any run with final-test numbers outside the chosen cell's folders: the test was read for another cell.
    const allowed = new Set(Object.values(cellFolders(choice.summary.cell)));
    const others: string[] = [];
    for (const c of SWEEP_GRID)
      for (const folder of Object.values(cellFolders(c)))
        if (
          !allowed.has(folder) &&
          !others.includes(folder) &&
          (await readRuns(join(root, folder))).some((r) => r.final)
        )
          others.push(folder);
    if (others.length)
      throw new TransplantError(
        'E_PROTOCOL',
        `${others.join(', ')} already hold final-test numbers, but dev now chooses ${choice.summary.cell.name}: the final test is read once, for the cell chosen on dev. Rebuild the report with --report, or move those runs away deliberately`,
        { operation: 'interpretable-sweep' },
      );
    // The chosen cell is read once: a later --final must ask for the same cell, seeds, rates and check.
    const cell = choice.summary.cell;
    const record: FinalRecord = {
      cell: cell.name,
      seeds,
      grid,
      learningRates: choice.summary.learningRates,
      multi,
      multiLearningRates: multiDev?.learningRates ?? null,
    };
    const recordFile = join(root, 'final.json');
    const previous = await readFile(recordFile, 'utf8').then(
      (t) => JSON.parse(t) as FinalRecord,
      () => null,
    );
    if (previous && JSON.stringify(previous) !== JSON.stringify(record))
      throw new TransplantError(
        'E_PROTOCOL',
        `the final test was read for ${JSON.stringify(previous)}; this run asks for ${JSON.stringify(record)}: the final test is read once. Rebuild the report with --report, or move ${recordFile} and the runs away deliberately`,
        { operation: 'interpretable-sweep' },
      );
    if (!previous) await writeFileWhole(recordFile, `${JSON.stringify(record, null, 2)}\n`, 'experiment');
    // Measures the stored networks dev chose; a missing or stale one is refused, not trained.
    await runExperiment(experiment(cell, 'ordinary', true), { report: false, train: false });
    await runExperiment(experiment(cell, 'interpretable', true), { report: false, train: false });
    if (multiSetting) await runExperiment(experiment(cell, 'multi', true), { report: false, train: false });
  }
  if (choice) {
    final = (await summarize('test')).find((s) => s.cell.name === choice.summary.cell.name) ?? null;
    multiFinal = await summarizeMulti(choice.summary.cell, 'test');
  }

  const diagnosis = choice ? await diagnose(choice.summary, values, root, seeds) : null;
  // The largest drop regardless of the error bound (the fallback rule over every cell), diagnosed too when it is not the chosen cell: how close, and at what cost.
  const largestChoice = choice
    ? chooseCell(
        dev.map((x) => ({ ...x, eligible: false })),
        seeds,
      )
    : null;
  const largest =
    largestChoice && largestChoice.summary.cell.name !== choice?.summary.cell.name
      ? {
          summary: largestChoice.summary,
          diagnosis: await diagnose(largestChoice.summary, values, root, seeds),
          references: referenceInstability('cat', {
            images: INTERPRETABLE_EXPERIMENT_DEFAULTS.images,
            crop: true,
            size: largestChoice.summary.cell.size,
            stride: largestChoice.summary.cell.size / topMap(largestChoice.summary.cell).side,
            seed: INTERPRET_STREAMS.dev,
          }),
        }
      : null;
  // The heat maps the diagnosis drew: seed 1 of each kind at its chosen rate.
  const heatmapsOf = (summary: CellSummary) =>
    (['ordinary', 'interpretable'] as const)
      .map((kind) =>
        join(
          root,
          cellFolders(summary.cell)[kind],
          'interpretable',
          heatmapName({ categories: ['cat'], kind, learningRate: summary.learningRates[kind]! }, 'cat'),
        ),
      )
      .filter((file) => existsSync(file))
      .map((file) => relative(values.results, file));
  const pictures = [
    ...(choice ? heatmapsOf(choice.summary) : []),
    ...(largest ? heatmapsOf(largest.summary) : []),
  ];
  // For scale: made-up filters on the chosen cell's map, on the dev crops its numbers are measured on.
  const references = choice
    ? referenceInstability('cat', {
        images: INTERPRETABLE_EXPERIMENT_DEFAULTS.images,
        crop: true,
        size: choice.summary.cell.size,
        stride: choice.summary.cell.size / topMap(choice.summary.cell).side,
        seed: INTERPRET_STREAMS.dev,
      })
    : null;
  const report = formatSweepReport({
    references,
    diagnosis,
    largest,
    dev,
    choice,
    final,
    multi: { dev: multiDev, final: multiFinal, categories: multi },
    seeds,
    grid,
    pictures,
    machine: formatMachine(describeMachine()),
  });
  await writeFileWhole(join(values.results, 'interpretable-sweep.md'), report, 'experiment');
  await writeFileWhole(
    join(values.results, 'interpretable-sweep.json'),
    `${JSON.stringify({ seeds, grid, goal: SWEEP_GOAL, cells: SWEEP_GRID, dev, chosen: choice?.summary.cell.name ?? null, final, diagnosis, largest, multi: { categories: multi, strengthShare: MULTI_STRENGTH_SHARE, dev: multiDev, final: multiFinal } }, null, 2)}\n`,
    'experiment',
  );
  print(`${report}\n`);
}

/** The paper's single-category numbers (docs/methods.md §9.2). */
const PAPER_LINE =
  'Paper (ILSVRC Animal-Part, single category, mean over 30 categories): VGG-16 location instability 0.144 → 0.085 (−41 %), AlexNet 0.146 → 0.091 (−38 %), VGG-M 0.147 → 0.090 (−39 %), VGG-S 0.145 → 0.090 (−38 %); single-category accuracy 1–3 points lower (VGG-16 on VOC Part 98.66 → 95.39 %).';

export function formatSweepReport(input: {
  readonly dev: readonly CellSummary[];
  readonly choice: ReturnType<typeof chooseCell>;
  readonly final: CellSummary | null;
  /** The chosen cell's active filters by the part they key to (dev, mean over seeds). */
  readonly diagnosis?: Diagnosis | null;
  /** The cell with the largest drop when the chosen one is another (out of the bounds), with its diagnosis. */
  readonly largest?: {
    readonly summary: CellSummary;
    readonly diagnosis: Diagnosis | null;
    readonly references?: ReturnType<typeof referenceInstability>;
  } | null;
  /** Made-up filters on the chosen cell's map (dev crops), for scale. */
  readonly references?: ReturnType<typeof referenceInstability> | null;
  /** The multi-category check of the chosen cell (null parts: not run). */
  readonly multi?: {
    readonly dev: CellSummary | null;
    readonly final: CellSummary | null;
    readonly categories: readonly string[];
  };
  readonly seeds: readonly number[];
  readonly grid: readonly number[];
  readonly pictures: readonly string[];
  readonly machine: string;
}): string {
  const { dev, choice, final, seeds, grid } = input;
  const goal = SWEEP_GOAL;
  const chosen = choice?.summary.cell.name;
  const lines = [
    '# Closing the interpretable-layer gap: the sweep (docs/results.md)',
    '',
    `Regenerate: \`npx nx run experiments:interpretable-sweep\` (dev; resumable, \`--cells a,b\` to split the grid over processes), then \`--final\` (the chosen cell on the final test, once). Machine ${input.machine}.`,
    `Goal: the interpretable layer's location instability (active filters) −${Math.round(-goal.instabilityChange * 100)} % or lower against the ordinary layer of the same architecture, at an error cost of at most ${(goal.errorCost * 100).toFixed(0)} points, keeping at least ${Math.round(goal.activeShare * 100)} % of the ordinary layer's active filters. Category cat against the rest, 64- or 96-pixel object crops, trained from cat-cls's conv layers.`,
    `Protocol: every cell trains both kinds; each kind's learning rate from {${grid.join(', ')}} chosen on dev on seed ${seeds[0]}, then seeds ${seeds.join(', ')} at that rate. Cells are compared on **dev** only; the chosen cell (within the bounds, the largest instability drop; if no cell is within them, the largest drop among cells that keep the active filters) is the only one measured on the final test. Every cell: mean over seeds [95 % t interval over seeds]; p: paired t test over seeds.`,
    '',
    '## Dev, every cell',
    '',
    ...CELL_TABLE_HEAD,
    ...dev.map((s) => cellRow(s, s.cell.name === chosen)),
    '',
    'Error cost: interpretable minus ordinary error, in points. Instability change: per seed (interpretable − ordinary) / ordinary, over the active filters (those firing on enough images to rank their top ones); negative is more stable.',
    '',
  ];
  if (choice) {
    const s = choice.summary;
    lines.push(
      `**Chosen on dev: ${s.cell.name}** (${topMap(s.cell).side}×${topMap(s.cell).side}×${topMap(s.cell).filters} top map, ${s.cell.size}-pixel inputs, ${s.cell.loss === 'exact' ? `exact filter loss λ ${s.cell.lambda}` : `hand-built strength ${s.cell.strength}`}, ${s.cell.steps} steps)${choice.reason === 'fallback' ? ': no cell is within the bounds; this is the largest drop among the cells that keep the active filters' : ''}.`,
      '',
    );
    const d = input.diagnosis;
    if (d) lines.push(...diagnosisTable(d, `the chosen cell's (${s.cell.name})`, s.seeds));
    const l = input.largest;
    if (l)
      lines.push(
        `The largest instability drop on dev, out of the bounds: **${l.summary.cell.name}**, ${signedPct(l.summary.instabilityChange)} at an error cost of ${signedPoints(l.summary.errorCost)} points.`,
        '',
        ...(l.diagnosis ? diagnosisTable(l.diagnosis, `its (${l.summary.cell.name})`, l.summary.seeds) : []),
        ...(l.references
          ? [scaleLine(l.references, `${l.summary.cell.name}'s`, topMap(l.summary.cell).side), '']
          : []),
      );
    const r = input.references;
    if (r) lines.push(scaleLine(r, "the chosen cell's", topMap(s.cell).side), '');
  } else lines.push('The grid is not complete yet (every cell needs every seed): nothing is chosen.', '');
  if (final) {
    const met = final.meetsGoal;
    lines.push(
      '## Final test, the chosen cell (read once)',
      '',
      ...CELL_TABLE_HEAD,
      cellRow(final, true),
      '',
      `Against the goal: instability change ${signedPct(final.instabilityChange)} (goal ≤ −${Math.round(-goal.instabilityChange * 100)} %; the interval ${relation(final.instabilityChange, goal.instabilityChange)} it), error cost ${signedPoints(final.errorCost)} points (goal ≤ ${(goal.errorCost * 100).toFixed(0)}; the interval ${relation(final.errorCost, goal.errorCost)} it): on the means the goal is ${met ? 'met' : 'not met'}.`,
      '',
    );
  }
  const m = input.multi;
  if (m && (m.dev || m.final)) {
    const rows = [
      ...(m.dev ? [{ split: 'dev', s: m.dev }] : []),
      ...(m.final ? [{ split: 'final test', s: m.final }] : []),
    ];
    lines.push(
      `## Multi-category check of the chosen cell (${m.categories.join(', ')} and background)`,
      '',
      `The chosen cell's layer, one softmax class per category plus background, filters assigned to categories as they train; the hand-built filter loss at ${MULTI_STRENGTH_SHARE} × the cell's strength (the exact loss keeps its λ). Goal: the interpretable network's error not above the ordinary one's. Instability: mean over the categories.`,
      '',
      '| split | n | ordinary error % | interpretable error % | error cost, points | ordinary instability | interpretable instability | instability change |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map(
        ({ split, s }) =>
          `| ${split} | ${s.seeds.length} | ${formatInterval(s.error.ordinary, 1, 100)} | ${formatInterval(s.error.interpretable, 1, 100)} | ${signedPoints(s.errorCost)} (p ${formatP(s.errorP)}) | ${formatInterval(s.instability.ordinary, 3)} | ${formatInterval(s.instability.interpretable, 3)} | ${signedPct(s.instabilityChange)} (p ${formatP(s.instabilityP)}) |`,
      ),
      '',
      ...rows.map(
        ({ split, s }) =>
          `On ${split}: ${comparedInWords(
            "the interpretable network's error",
            "the ordinary one's",
            pairedT(s.perSeed.interpretableError, s.perSeed.ordinaryError),
            `${signedPoints(s.errorCost)} points`,
          )}.`,
      ),
      '',
    );
  }
  lines.push(PAPER_LINE, '');
  if (input.pictures.length)
    lines.push(
      `## Heat maps of the top filters of the chosen cell and of the largest drop (seed ${seeds[0]}, dev crops)`,
      '',
      ...input.pictures.map((p) => `![${p}](${p})`),
      '',
    );
  return lines.join('\n');
}

/** The chosen cell's active filters per kind, grouped by the part they key to. */
export interface Diagnosis {
  /** The runs measured (the cache is valid for them only). */
  readonly runs: readonly string[];
  readonly ordinary: Record<string, PartShare>;
  readonly interpretable: Record<string, PartShare>;
}

/**
 * Measures the chosen cell's networks (from the work registry) again on the dev crops and
 * groups their active filters by the part each keys to; cached beside the cell's runs (a
 * `--report` run only reads the cache).
 */
async function diagnose(
  summary: CellSummary,
  values: InterpretableSweepOptions,
  root: string,
  seeds: readonly number[],
): Promise<Diagnosis | null> {
  const { cell } = summary;
  const folders = cellFolders(cell);
  const file = join(root, folders.interpretable, 'diagnosis.json');
  const specs = (['ordinary', 'interpretable'] as const).flatMap((kind) =>
    summary.seeds.map((seed) => ({
      kind,
      spec: { categories: ['cat'] as CategoryId[], kind, seed, learningRate: summary.learningRates[kind]! },
    })),
  );
  // A run trained again keeps its key: its dev numbers tell the cache it changed.
  const stored = [
    ...(await readRuns(join(root, folders.ordinary))),
    ...(await readRuns(join(root, folders.interpretable))),
  ];
  const runs = specs.map(({ spec }) => {
    const r = stored.find((x) => x.key === runKey(spec));
    return `${runKey(spec)} ${r?.dev.loss ?? '–'} ${r?.dev.instability ?? '–'}`;
  });
  const cached = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as Diagnosis,
    () => null,
  );
  if (cached && JSON.stringify(cached.runs) === JSON.stringify(runs)) return cached;
  if (values.report) return null;
  const platform = createPlatform(process.env);
  await platform.backendSelector.select({ env: process.env });
  const images = partImages('cat', {
    count: INTERPRETABLE_EXPERIMENT_DEFAULTS.images,
    size: cell.size,
    crop: true,
    seed: INTERPRET_STREAMS.dev,
  });
  const perKind: Record<'ordinary' | 'interpretable', Record<string, PartShare>[]> = {
    ordinary: [],
    interpretable: [],
  };
  for (const { kind, spec } of specs) {
    const registry = new Registry(new FolderStore(join(values.workRegistry, folders[kind])));
    const name = networkName(spec);
    const loaded = await new Composer(registry, platform.plugins).load(name).catch((error: unknown) => {
      // Results without their networks (a clone, or a work registry moved away): no diagnosis.
      if (error instanceof TransplantError && error.code === 'E_MODULE_NOT_FOUND') return null;
      throw error;
    });
    if (!loaded) {
      process.stderr.write(`interpretable-sweep: ${name} is not in ${registry.toString()}: no diagnosis\n`);
      return null;
    }
    const { network } = loaded;
    try {
      const names = networkModules(name);
      const conv = topLayer(cell.blocks);
      const interpretation = interpretLayer(
        { network, link: { category: names.category, task: names.task } },
        { layer: kind === 'ordinary' ? conv : `${conv}_mask`, images },
      );
      perKind[kind].push(partBreakdown(interpretation));
      if (spec.seed === seeds[0])
        await writeFileWhole(
          join(root, folders[kind], 'interpretable', heatmapName(spec, 'cat')),
          renderFilterHeatmaps(interpretation, images, {
            filters: 6,
            images: 6,
            title: `${cell.name} · ${runKey(spec)} · ${interpretation.layer} · cat dev images`,
          }),
          'experiment',
        );
    } finally {
      network.dispose();
    }
  }
  const diagnosis: Diagnosis = {
    runs,
    ordinary: meanBreakdown(perKind.ordinary),
    interpretable: meanBreakdown(perKind.interpretable),
  };
  await writeFileWhole(file, `${JSON.stringify(diagnosis, null, 2)}\n`, 'experiment');
  return diagnosis;
}

/** The table of a diagnosis: per part, how many active filters key to it and how stable they are, per kind. */
function diagnosisTable(d: Diagnosis, whose: string, seeds: readonly number[]): string[] {
  const parts = [...new Set([...Object.keys(d.ordinary), ...Object.keys(d.interpretable)])].sort();
  const f = (x: PartShare | undefined) =>
    x
      ? `${x.filters.toFixed(1)} | ${Number.isFinite(x.instability) ? x.instability.toFixed(3) : '–'}`
      : '0 | –';
  return [
    `Which parts ${whose} active filters key to (each filter's best part by part interpretability; dev crops, mean over seeds ${seeds.join(', ')}):`,
    '',
    '| part | ordinary filters | their instability | interpretable filters | their instability |',
    '|---|---|---|---|---|',
    ...parts.map((p) => `| ${p} | ${f(d.ordinary[p])} | ${f(d.interpretable[p])} |`),
    '',
  ];
}

/** Made-up part detectors and a random cell on a map, for scale. */
function scaleLine(r: ReturnType<typeof referenceInstability>, whose: string, side: number): string {
  return `For scale, on ${whose} ${side}×${side} map and the same dev crops: a made-up filter that always peaks at the cell of a part's centre scores ${Object.entries(
    r.perPart,
  )
    .map(([part, v]) => `${part} ${v.toFixed(3)}`)
    .join(
      ', ',
    )} (head, neck and torso are the landmarks; a detector of another part is scored against them too), one that peaks at a random cell ${r.random.toFixed(3)}.`;
}

/** Where an interval lies against a bound. */
const relation = (x: SeedInterval, bound: number) =>
  x.high <= bound ? 'lies at or below' : x.low > bound ? 'lies above' : 'contains';
