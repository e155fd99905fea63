import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend, type MachineDescription } from '@transplant/core';
import { SyntheticSet } from '@transplant/data';
import {
  LOCALIZATION_METHODS,
  fewShotLocalization,
  inferGraph,
  mineGraph,
  type ExplanatoryGraph,
  type LocalizationMethod,
} from '@transplant/explanatory-graph';
import {
  INTERPRETABLE_DEFAULTS,
  backgroundImages,
  buildExperimentNetwork,
  networkModules,
  partCentres,
  partImages,
} from '@transplant/interpretable';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAogExperiment } from './aog';
import {
  aogFewShot,
  formatAogReport,
  runAogCategory,
  type AogEvaluation,
  type AogRunResult,
} from './aog-runs';
import { GRAPH_STREAMS, graphSeedNames } from './explanatory-graph-runs';
import { publishTinyZoo } from './testing/tiny-zoo';

const tiny = {
  ...INTERPRETABLE_DEFAULTS,
  imageSize: 16,
  blocks: [[4], [8]],
  categories: ['cat'] as const,
  mask: 'none' as const,
};
const names = networkModules('x');
const link = { category: names.category, task: names.task };
let dir = '';
let network: ReturnType<typeof buildExperimentNetwork>;

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  network = buildExperimentNetwork(testPlugins(), 'x', tiny);
  dir = await mkdtemp(join(tmpdir(), 'transplant-aog-exp-'));
});
afterAll(async () => {
  network.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the AOG experiment', () => {
  it('scores the AOG on the part × K cells of the graph retrieval; with one shot one template is a copy of the other and the OR never chooses', () => {
    const pool = partImages('cat', { count: 10, size: 16, crop: true, seed: 'aog-exp' });
    const test = partImages('cat', { count: 6, size: 16, crop: true, seed: 'aog-exp-test' });
    const negatives = backgroundImages('cat', { count: 4, size: 16, seed: 'aog-exp-neg' });
    const graph: ExplanatoryGraph = mineGraph(
      { network, link },
      { images: pool, negatives, iterations: 1 },
    ).graph;
    const inferred = {
      pool: { images: pool, inference: inferGraph(graph, { network, link, images: pool }) },
      test: { images: test, inference: inferGraph(graph, { network, link, images: test }) },
    };
    const options = { shots: [1, 2], draws: 3, top: 4, seed: 'aog-exp', parts: ['head', 'torso'] as const };
    const aog = aogFewShot(graph, { ...inferred, ...options, parts: [...options.parts] });
    const today = fewShotLocalization(graph, { ...inferred, ...options, parts: [...options.parts] });
    // The same part × K cells, scored on the same images.
    expect(aog.map((r) => `${r.part}:${r.k}`)).toEqual(today.map((r) => `${r.part}:${r.k}`));
    for (const r of aog) {
      expect(r.distance).toBeGreaterThan(0);
      expect(r.distance).toBeLessThan(1);
      expect(r.unlearnable).toBe(0);
      // Shares of the parses (draws × test crops showing the part): ties a whole number of them,
      // the view matches a whole number of the parses that chose.
      const parses = options.draws * partCentres(test, r.part).filter(Boolean).length;
      const tied = r.ties! * parses;
      expect(tied).toBeCloseTo(Math.round(tied), 9);
      expect(Math.round(tied)).toBeLessThanOrEqual(parses);
      if (r.ties! < 1) {
        const matched = r.viewMatch * (parses - Math.round(tied));
        expect(matched).toBeCloseTo(Math.round(matched), 9);
        expect(Math.round(matched)).toBeLessThanOrEqual(parses - Math.round(tied));
      } else expect(r.viewMatch).toBeNaN();
    }
    // K = 1: one view has the shot, the other is a copy of it (half the templates): every parse
    // ties, so there is no OR choice to count.
    for (const r of aog.filter((x) => x.k === 1)) {
      expect(r.mirrored).toBe(0.5);
      expect(r.ties).toBe(1);
      expect(r.viewMatch).toBeNaN();
    }
  });

  it('a dev run reads no final-test crop; a final run reuses the graph and dev numbers and reads the final crops; the report says which', async () => {
    const rendered = vi.spyOn(SyntheticSet.prototype, 'render');
    const logs: string[] = [];
    const options = {
      images: 10,
      negatives: 4,
      test: 6,
      iterations: 1,
      shots: [1, 2],
      draws: 2,
      top: 4,
      views: 'align' as const,
      lambdas: [0.1, 10],
      log: (line: string) => logs.push(line),
    };
    const subject = { category: 'cat' as const, network, name: 'x@1.0.0' };
    const devRuns: AogRunResult[] = [];
    for (const seed of [1, 2, 3])
      devRuns.push(
        await runAogCategory(subject, {
          ...options,
          seed,
          final: false,
          graphFile: join(dir, `s${seed}.egraph`),
        }),
      );
    expect(rendered.mock.calls.filter(([ref]) => ref.seed.startsWith(`${GRAPH_STREAMS.final}:`))).toEqual([]);
    expect(rendered.mock.calls.some(([ref]) => ref.seed.startsWith(`${GRAPH_STREAMS.dev}:`))).toBe(true);
    rendered.mockClear();
    expect(new Set(devRuns.map((r) => r.graphDigest)).size).toBe(3);
    expect(devRuns[0]!.dev.aog.length).toBe(devRuns[0]!.dev.localization.length);

    const finalRun = await runAogCategory(
      subject,
      { ...options, seed: 2, final: true, graphFile: join(dir, 's2.egraph') },
      devRuns[1],
    );
    expect(logs.some((l) => l.includes('graph read back'))).toBe(true);
    expect(finalRun.graphDigest).toBe(devRuns[1]!.graphDigest);
    expect(finalRun.dev).toEqual(devRuns[1]!.dev);
    expect(rendered.mock.calls.some(([ref]) => ref.seed.startsWith(`${GRAPH_STREAMS.final}:`))).toBe(true);
    rendered.mockRestore();
    expect(finalRun.final!.lambda).toEqual(devRuns[1]!.dev.lambda);

    const meta = { backend: 'wasm', machine: 'X, 2 cores', command: 'c' };
    const dev = formatAogReport(devRuns, { ...meta, final: false });
    expect(dev).toContain('dev numbers, not the final test');
    expect(dev).toMatch(
      /\| cat \| 2 \| 3 \| (\*\*)?0\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\](\*\*)? \| (\*\*)?\d\.\d{3} /,
    );
    expect(dev).toContain('| average (1 categories) | 1 | 3 units / 3 seeds |');
    // These runs tell ties from choices: the OR columns are there.
    expect(dev).toContain('OR made no choice (tie)');
    expect(dev).toMatch(/- K = 2: the AOG's distance .* today's node retrieval/);
    const final = formatAogReport([devRuns[0]!, finalRun, devRuns[2]!], { ...meta, final: true });
    expect(final).toContain(': final test');
    expect(final).toContain('Not in this report: cat seed 1, cat seed 3.');
  });

  it('splits the cells over two worker processes, resumes from the files they left, and rebuilds the report', async () => {
    const registry = join(dir, 'zoo');
    await publishTinyZoo(registry);
    const options = {
      categories: 'cat,dog',
      seeds: '1,2',
      images: 8,
      negatives: 4,
      test: 4,
      iterations: 1,
      shots: '1,2',
      draws: 1,
      top: 3,
      workers: 2,
      registry,
      results: join(dir, 'results'),
      work: join(dir, 'work'),
    };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await runAogExperiment(options);
      const runs = (await readdir(join(dir, 'results', 'aog', 'runs'))).sort();
      expect(runs).toEqual(['cat-s1.json', 'cat-s2.json', 'dog-s1.json', 'dog-s2.json']);
      const first = await readFile(join(dir, 'results', 'aog', 'runs', 'dog-s2.json'), 'utf8');
      // In this process now: every cell is done already, nothing is run again.
      await runAogExperiment({ ...options, workers: 1 });
      const logged = stderr.mock.calls.map(([line]) => String(line)).join('');
      expect(logged.match(/done already/g)).toHaveLength(4);
      expect(await readFile(join(dir, 'results', 'aog', 'runs', 'dog-s2.json'), 'utf8')).toBe(first);
      const report = await readFile(join(dir, 'results', 'aog.md'), 'utf8');
      expect(report).toContain('| average (2 categories) | 2 | 4 units / 2 seeds |');
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  }, 120_000);
});

/** A stored run of one category and seed with planted distances (no network, no image). */
function plantedRun(
  category: 'cat' | 'dog',
  seed: number,
  distances: { dev: Record<string, number>; final?: Record<string, number> },
  options: { ties?: boolean; iterations?: number } = {},
): AogRunResult & { backend: string; machine: MachineDescription } {
  const evaluation = (split: 'dev' | 'test', d: Record<string, number>): AogEvaluation => ({
    split,
    stream: split === 'dev' ? GRAPH_STREAMS.dev : GRAPH_STREAMS.final,
    images: 4,
    localization: [1, 2].map((k) => ({
      part: 'head' as const,
      k,
      testImages: 4,
      distance: Object.fromEntries(
        LOCALIZATION_METHODS.map((m) => [m, (d[m] ?? 0.5) + seed / 1000]),
      ) as Record<LocalizationMethod, number>,
    })),
    lambda: { 'pooled-linear': {}, 'pooled-linear-aligned': {} },
    aog: [1, 2].map((k) => ({
      part: 'head' as const,
      k,
      distance: d['aog']! + seed / 1000,
      viewMatch: 0.5,
      mirrored: k === 1 ? 0.5 : 0.1,
      unlearnable: 0,
      ...(options.ties ? { ties: k === 1 ? 1 : 0.2 } : {}),
    })),
  });
  return {
    category,
    seed,
    network: `${category}-cls@1.0.0`,
    graphDigest: 'sha256:0',
    dev: evaluation('dev', distances.dev),
    ...(distances.final ? { final: evaluation('test', distances.final) } : {}),
    seconds: { mining: 1, evaluation: 1 },
    settings: {
      seed,
      images: 200,
      negatives: 100,
      test: 200,
      iterations: options.iterations ?? 20,
      shots: [1, 2],
      draws: 10,
      top: 10,
      views: 'align',
      lambdas: [0.1, 10],
      seedNames: graphSeedNames(category, seed),
    },
    backend: 'wasm+onednn',
    machine: { cpu: 'Planted CPU', threads: 2, features: 'unknown', node: 'v20' } as MachineDescription,
  };
}

describe('the AOG report and the final-test protocol (stored runs)', () => {
  const meta = { backend: 'wasm', machine: 'X, 2 cores', command: 'c' };
  // On dev the raw-filter ensemble is the best baseline; on the final test pooled-linear would be.
  const dev = { aog: 0.3, graph: 0.2, 'filter-best': 0.6, 'filter-ensemble': 0.4, 'pooled-linear': 0.45 };
  const final = { aog: 0.3, graph: 0.2, 'filter-best': 0.6, 'filter-ensemble': 0.4, 'pooled-linear': 0.35 };
  const runs = [1, 2, 3].map((seed) => plantedRun('cat', seed, { dev, final }));

  it('a final report keeps the best baseline chosen on dev, bolds the lowest distance only, and prints both n of an average', () => {
    const report = formatAogReport(runs, { ...meta, final: true });
    const row = report.split('\n').find((l) => l.startsWith('| cat | 2 |'))!;
    expect(row).toContain('(filter-ensemble)');
    expect(row).not.toContain('(pooled-linear)');
    // Today's retrieval (0.2) is the lowest: bold there, not on the AOG (0.3).
    expect(row).toMatch(/^\| cat \| 2 \| 3 \| 0\.302 \[[^\]]+\] \| \*\*0\.202 \[[^\]]+\]\*\* \|/);
    expect(report).toContain('| average (1 categories) | 2 | 3 units / 3 seeds | 0.302');
  });

  it('records made before ties were told apart get no OR column: what the OR chose was not measured', () => {
    const old = formatAogReport(runs, { ...meta, final: false });
    expect(old).not.toContain("OR took the image's view");
    expect(old).toContain('what the OR chose is not reported: it was not measured');
    expect(old).toContain('templates copied');
    const measured = formatAogReport(
      [1, 2, 3].map((seed) => plantedRun('cat', seed, { dev }, { ties: true })),
      { ...meta, final: false },
    );
    const row = measured.split('\n').find((l) => l.startsWith('| cat | 1 |'))!;
    // K = 1: every parse ties (100 %), no choice to count (–), half the templates copies.
    expect(row).toMatch(/\| 100 % \| 50 % \| 50 % \|$/);
    const average = measured.split('\n').find((l) => l.startsWith('| average (1 categories) | 2 |'))!;
    expect(average).toMatch(/\| 20 % \| 50 % \| 10 % \|$/);
    expect(old.split('\n').find((l) => l.startsWith('| average (1 categories) | 1 |'))).toMatch(
      /\(p [^)]+\) \| 50 % \|$/,
    );
  });

  it('refuses a second read of the final test (E_PROTOCOL) and rebuilds the reports from the stored runs with --report', async () => {
    const results = join(dir, 'protocol');
    await mkdir(join(results, 'aog', 'runs'), { recursive: true });
    const store = (r: AogRunResult) =>
      writeFile(join(results, 'aog', 'runs', `${r.category}-s${r.seed}.json`), JSON.stringify(r));
    for (const r of runs) await store(r);
    const options = {
      categories: 'cat',
      seeds: '1,2,3',
      shots: '1,2',
      lambdas: '0.1,10',
      results,
      registry: '/nowhere',
    };
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const protocol = expect.objectContaining({ code: 'E_PROTOCOL' });
      await expect(runAogExperiment({ ...options, final: true })).rejects.toEqual(protocol);
      await expect(runAogExperiment({ ...options, final: true })).rejects.toThrow(
        /every cell \(3\) already holds final-test results/,
      );
      await expect(runAogExperiment({ ...options, redo: true })).rejects.toThrow(
        /--redo would run again 3 cell/,
      );
      await expect(runAogExperiment({ ...options, final: true, iterations: 5 })).rejects.toThrow(
        /3 cell\(s\) hold final-test results made with other settings/,
      );
      // Nothing was written by the refused runs.
      await expect(readFile(join(results, 'aog.md'), 'utf8')).rejects.toThrow();
      // --report reads only the stored files (the registry does not exist) and writes both reports.
      await runAogExperiment({ ...options, report: true });
      const report = await readFile(join(results, 'aog.md'), 'utf8');
      expect(report).toContain(': final test');
      expect(report).toContain('machine Planted CPU');
      expect(report).toMatch(
        /rebuilt from the stored runs by `npx nx run experiments:aog --report --results \S*protocol`/,
      );
      expect(await readFile(join(results, 'aog-dev.md'), 'utf8')).toContain(
        'dev numbers, not the final test',
      );
      await expect(runAogExperiment({ ...options, report: true, final: true })).rejects.toThrow(
        /--report runs nothing/,
      );
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});
