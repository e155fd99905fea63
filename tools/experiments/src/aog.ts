import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TransplantError,
  describeMachine,
  formatMachine,
  writeFileWhole,
  type MachineDescription,
} from '@transplant/core';
import { Composer } from '@transplant/composer';
import { GRAPH_VIEW_RULES, type GraphViewRule } from '@transplant/explanatory-graph';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { formatAogReport, runAogCategory, type AogRunResult } from './aog-runs';
import { categoryList } from './category-list';
import { storedCellRun } from './stored-cell-run';
import { DEFAULT_LAMBDAS } from './explanatory-graph-runs';

/**
 * docs/methods.md §3.8 on the synthetic data under docs/protocol.md: per category and seed, an
 * explanatory graph of its zoo classifier; per part and K the same K-shot draws localize the part
 * with an AOG learned from them, with today's node retrieval and with the baselines, on the dev
 * crops (`final`: also the final-test crops, read once). Resumable: one JSON per category and
 * seed (a stale one — another network version or other settings — is run again); the cells are
 * split over `workers` processes (one per core); the report is rebuilt from every file present.
 * The final test is read once per cell: a run that would read it again (`--redo` or a stale file
 * over a cell with final results, or `--final` when every cell has them) is refused with
 * E_PROTOCOL; `--report` rebuilds the reports from the stored files without running anything.
 */
/** Options of `nx run experiments:aog` (its schema.json holds the same names, types and defaults). */
export interface AogExperimentOptions {
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
  /** Comma-separated ridge strengths the pooled-feature baselines choose from on dev. */
  readonly lambdas: string;
  /** Worker processes the cells are split over (one per core; 1: in this process). */
  readonly workers: number;
  /** `i/n`: run only every n-th cell from the i-th (what a worker process runs); no report. */
  readonly shard: string;
  readonly final: boolean;
  readonly redo: boolean;
  /** Run nothing: rebuild the reports from the stored JSON files only (final ones where every cell has final results). */
  readonly report: boolean;
  readonly registry: string;
  readonly results: string;
  /** The graph files (not committed). */
  readonly work: string;
}

export const AOG_EXPERIMENT_DEFAULTS: AogExperimentOptions = {
  categories: 'bird,cat,cow,dog,horse,sheep',
  seeds: '1,2,3',
  images: 200,
  negatives: 100,
  test: 200,
  iterations: 20,
  shots: '1,2,3',
  draws: 10,
  top: 10,
  views: 'align',
  lambdas: DEFAULT_LAMBDAS.join(','),
  workers: 2,
  shard: '',
  final: false,
  redo: false,
  report: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
  work: fileURLToPath(new URL('../.work/aog', import.meta.url)),
};

const numbers = (text: string | number) =>
  String(text)
    .split(',')
    .map((v) => Number(v.trim()));

/** Runs `workers` processes of this experiment, each on its shard, and waits for all (with their stderr passed through). */
async function runWorkers(values: AogExperimentOptions): Promise<void> {
  const worker = fileURLToPath(new URL('./aog-worker.ts', import.meta.url));
  const n = Number(values.workers);
  const exits = Array.from(
    { length: n },
    (_, i) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--conditions=@transplant/source',
            '--import',
            'tsx',
            worker,
            JSON.stringify({ ...values, shard: `${i}/${n}` }),
          ],
          {
            stdio: ['ignore', 'ignore', 'inherit'],
            // One core each: the conv library's threads would otherwise fight over the same cores.
            env: { ...process.env, TRANSPLANT_THREADS: process.env['TRANSPLANT_THREADS'] ?? '1' },
          },
        );
        child.on('error', reject);
        child.on('exit', (code) => resolve(code ?? 1));
      }),
  );
  const codes = await Promise.all(exits);
  if (codes.some((c) => c !== 0))
    throw new Error(`aog experiment: worker exit codes ${codes.join(', ')}; run again to resume`);
}

/** A cell's settings but its seed, in the order its JSON records them. */
const settingsOf = (values: AogExperimentOptions, shots: number[], lambdas: number[]) => ({
  images: Number(values.images),
  negatives: Number(values.negatives),
  test: Number(values.test),
  iterations: Number(values.iterations),
  shots,
  draws: Number(values.draws),
  top: Number(values.top),
  views: values.views as GraphViewRule,
  lambdas,
});

export async function runAogExperiment(options: Partial<AogExperimentOptions> = {}): Promise<void> {
  const values = { ...AOG_EXPERIMENT_DEFAULTS, ...options };
  if (!GRAPH_VIEW_RULES.includes(values.views as GraphViewRule))
    throw new Error(`--views must be one of ${GRAPH_VIEW_RULES.join(', ')}`);
  const categories = categoryList(values.categories);
  const seeds = numbers(values.seeds);
  if (seeds.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('--seeds: positive integers');
  const shots = numbers(values.shots);
  if (shots.some((k) => !Number.isInteger(k) || k < 1)) throw new Error('--shots: positive integers');
  const lambdas = numbers(values.lambdas);
  if (lambdas.some((l) => !(l > 0))) throw new Error('--lambdas: positive numbers');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers: a positive integer');
  const shard = /^(\d+)\/(\d+)$/.exec(values.shard);
  if (values.shard && (!shard || Number(shard[1]) >= Number(shard[2])))
    throw new Error(`--shard "${values.shard}": i/n with 0 ≤ i < n`);
  const final = values.final === true;
  const dir = join(values.results, 'aog');
  await mkdir(join(dir, 'runs'), { recursive: true });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = values.report === true;
  if (report && (final || values.redo))
    throw new Error('--report runs nothing: it takes neither --final nor --redo');
  const cells = categories.flatMap((category) => seeds.map((seed) => ({ category, seed })));
  if (!report && !shard) await refuseSecondFinalRead(dir, cells, values, settingsOf(values, shots, lambdas));

  if (report) log('rebuilding the reports from the stored runs; nothing is run');
  else if (!shard && workers > 1) await runWorkers(values);
  else {
    const platform = createPlatform(process.env);
    const selection = await platform.backendSelector.select({ env: process.env });
    const machine = describeMachine();
    const registry = await platform.openRegistry(values.registry);
    const composer = new Composer(registry, platform.plugins);
    for (const [index, { category, seed }] of cells.entries()) {
      if (shard && index % Number(shard[2]) !== Number(shard[1])) continue;
      const current = `${category}-cls@${(await registry.resolve(`${category}-cls`)).version}`;
      const file = join(dir, 'runs', `${category}-s${seed}.json`);
      const settings = { seed, ...settingsOf(values, shots, lambdas) };
      // A run made from another version of the network, or with other settings, is stale: run again.
      const { usable, done } = await storedCellRun<AogRunResult>(
        file,
        { network: current, settings },
        { redo: values.redo === true, final, label: `${category} seed ${seed}`, log },
      );
      if (done) continue;
      const { network, manifest } = await composer.load(`${category}-cls`);
      try {
        const started = performance.now();
        const result = await runAogCategory(
          { category, network, name: `${manifest.name}@${manifest.version}` },
          {
            ...settings,
            final,
            graphFile: join(
              values.work,
              `${category}-s${seed}-i${settings.images}-n${settings.negatives}-e${settings.iterations}.egraph`,
            ),
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
    if (shard) return;
  }

  const runs: (AogRunResult & { backend?: string; machine?: MachineDescription })[] = [];
  for (const name of (await readdir(join(dir, 'runs'))).filter((n) => n.endsWith('.json')).sort())
    runs.push(JSON.parse(await readFile(join(dir, 'runs', name), 'utf8')) as AogRunResult);
  // Only the cells run with these settings: an interrupted run with new settings never mixes with the old files.
  const current = (r: AogRunResult) => {
    const { seedNames: _n, ...stored } = r.settings;
    const { seed: _s, ...rest } = stored;
    return JSON.stringify(rest) === JSON.stringify(settingsOf(values, shots, lambdas));
  };
  const listed = runs.filter((r) => categories.includes(r.category) && seeds.includes(r.seed));
  const wanted = listed.filter(current);
  const other = listed.filter((r) => !current(r));
  if (other.length)
    log(
      `left out of the report (run with other settings): ${other.map((r) => `${r.category} seed ${r.seed}`).join(', ')}`,
    );
  const flags = [
    ['images', values.images],
    ['negatives', values.negatives],
    ['iterations', values.iterations],
    ['test', values.test],
  ] as const;
  const given = flags
    .filter(([name, v]) => v !== AOG_EXPERIMENT_DEFAULTS[name])
    .map(([name, v]) => ` --${name} ${v}`)
    .join('')
    .concat(
      values.results === AOG_EXPERIMENT_DEFAULTS.results
        ? ''
        : ` --results ${relative(process.cwd(), values.results) || '.'}`,
    );
  // A report-only run reports the final test where every cell holds it (as the final run did).
  const finalReport = report ? wanted.length > 0 && wanted.every((r) => r.final) : final;
  const meta = (f: boolean) => ({
    backend: runs[0]?.backend ?? 'unknown',
    machine: formatMachine(runs[0]?.machine ?? describeMachine()),
    command: `npx nx run experiments:aog${f ? ' --final' : ''}${given}${report ? `\` (measured); rebuilt from the stored runs by \`npx nx run experiments:aog --report${given}` : ''}`,
    final: f,
  });
  const text = formatAogReport(wanted, meta(finalReport));
  await writeFileWhole(join(values.results, 'aog.md'), text, 'experiment');
  // A final run keeps the dev report of the same cells beside it.
  if (finalReport)
    await writeFileWhole(
      join(values.results, 'aog-dev.md'),
      formatAogReport(wanted, meta(false)),
      'experiment',
    );
  await writeFileWhole(
    join(values.results, 'aog.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), final: finalReport, runs: wanted }, null, 2)}\n`,
    'experiment',
  );
  process.stdout.write(text);
}

/**
 * The final test is read once per cell (docs/protocol.md): refuses (E_PROTOCOL) a run that would
 * read it again — `--redo` over a cell with final results, `--final` over a cell whose final
 * results were made with other settings (it would be run again), or `--final`
 * when every cell already holds final results. A final run that was interrupted resumes: its
 * cells with final results are not run again.
 */
async function refuseSecondFinalRead(
  dir: string,
  cells: readonly { category: string; seed: number }[],
  values: AogExperimentOptions,
  settings: ReturnType<typeof settingsOf>,
): Promise<void> {
  const read: string[] = [];
  const stale: string[] = [];
  for (const { category, seed } of cells) {
    const file = join(dir, 'runs', `${category}-s${seed}.json`);
    const stored = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as AogRunResult,
      () => undefined,
    );
    if (!stored?.final) continue;
    read.push(`${category} seed ${seed}`);
    const { seedNames: _n, seed: _s, ...rest } = stored.settings;
    if (JSON.stringify(rest) !== JSON.stringify(settings)) stale.push(`${category} seed ${seed}`);
  }
  const refuse = (why: string) =>
    new TransplantError(
      'E_PROTOCOL',
      `${why}: the final test is read once. Rebuild the reports from the stored runs with --report, or move ${join(dir, 'runs')} away deliberately to read the final test again`,
      { operation: 'aog-experiment' },
    );
  if (values.redo && read.length)
    throw refuse(
      `--redo would run again ${read.length} cell(s) with final-test results (${read.slice(0, 3).join(', ')})`,
    );
  if (values.final && stale.length)
    throw refuse(
      `${stale.length} cell(s) hold final-test results made with other settings (${stale.slice(0, 3).join(', ')}) and would be run again`,
    );
  if (values.final && read.length === cells.length)
    throw refuse(`every cell (${cells.length}) already holds final-test results`);
}
