import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import { SyntheticSet } from '@transplant/data';
import {
  fewShotLocalization,
  inferGraph,
  mineGraph,
  type ExplanatoryGraph,
} from '@transplant/explanatory-graph';
import {
  INTERPRETABLE_DEFAULTS,
  backgroundImages,
  buildExperimentNetwork,
  networkModules,
  partImages,
} from '@transplant/interpretable';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAogExperiment } from './aog';
import { aogFewShot, formatAogReport, runAogCategory, type AogRunResult } from './aog-runs';
import { GRAPH_STREAMS } from './explanatory-graph-runs';
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
  it('scores the AOG on the part × K cells of the graph retrieval; with one shot one template is its own and the other mirrors it', () => {
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
      expect(r.viewMatch).toBeGreaterThanOrEqual(0);
      expect(r.viewMatch).toBeLessThanOrEqual(1);
    }
    // K = 1: one view has the shot, the other mirrors it: half the templates.
    for (const r of aog.filter((x) => x.k === 1)) expect(r.mirrored).toBe(0.5);
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
    expect(dev).toMatch(/\| cat \| 2 \| 3 \| \*\*0\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\]\*\* \| \d\.\d{3} /);
    expect(dev).toContain('| **average (1 categories)** | 1 | 3 |');
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
      expect(report).toContain('| **average (2 categories)** | 2 | 4 |');
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  }, 120_000);
});
