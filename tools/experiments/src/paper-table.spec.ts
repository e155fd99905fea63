import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { selectBackend } from '@transplant/core';
import type { TransplantOptions, TransplantResult } from '@transplant/distill';
import { runPaperTable } from './paper-table';
import { publishTinyZoo } from './testing/tiny-zoo';
import type { PaperTableFile, TuningFile } from './paper-table-format';

let dir = '';
let registry = '';
/** Every transplant the table asked for (the real one is tested in packages/distill). */
const calls: TransplantOptions[] = [];

vi.mock('@transplant/distill', () => ({
  /** A stand-in that answers at once: its error depends on the settings, so the grid has a choice. */
  transplant: async (options: TransplantOptions): Promise<Partial<TransplantResult>> => {
    calls.push(options);
    const wrong = (options.adapterInit === 'identity' ? 10 : 20) + options.steps + options.seed;
    const images = Array.from({ length: 400 }, (_, i) => ({ a: i < wrong ? 1 : 0, b: 1 }));
    const split = options.final ? 'test' : 'dev';
    return {
      metric: { name: 'error-rate', value: wrong / 400 },
      evaluation: { split, images },
      curve: (options.evaluateAt ?? []).map((step) => ({
        step,
        metric: { name: 'error-rate', value: ((options.adapterInit === 'identity' ? 10 : 20) + step) / 400 },
      })),
      reference: { name: 'error-rate', value: 0.01 },
      referenceEvaluation: { split, images: images.map((_, i) => ({ a: i < 4 ? 1 : 0, b: 1 })) },
    };
  },
}));

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-paper-table-'));
  registry = join(dir, 'registry');
  await publishTinyZoo(registry);
  process.env.TRANSPLANT_BACKEND = 'cpu';
});
afterEach(() => {
  calls.length = 0;
});
afterAll(async () => {
  delete process.env.TRANSPLANT_BACKEND;
  await rm(dir, { recursive: true, force: true });
});

const tiny = {
  categories: 'cat,dog',
  adapters: '1',
  samples: '10',
  methods: 'ol,bd',
  modes: 'transplanted',
  seeds: '1,2',
  tuneCategories: 'cat',
  tuneSamples: '10',
  tuneSteps: '2,4',
};

describe('the paper table under the protocol', () => {
  it('refuses the table before the grid has chosen its settings', async () => {
    await expect(runPaperTable({ ...tiny, registry, results: join(dir, 'none') })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
    });
  });

  it('tunes and evaluates on dev only; --final reads the final test with the settings the grid chose', async () => {
    const results = join(dir, 'results');
    await runPaperTable({ ...tiny, tune: true, registry, results });
    const tuning = JSON.parse(await readFile(join(results, 'paper-table-tuning.json'), 'utf8')) as TuningFile;
    // The same grid for both methods: two adapter starts, each evaluated after 2 and 4 steps.
    expect(tuning.runs.map((r) => `${r.method}/${r.init}/${r.steps.join('+')}`).sort()).toEqual([
      'bd/he-normal/2+4',
      'bd/identity/2+4',
      'ol/he-normal/2+4',
      'ol/identity/2+4',
    ]);
    expect(tuning.chosen.transplanted).toEqual({
      ol: { init: 'identity', steps: 2, learningRate: 1e-3 },
      bd: { init: 'identity', steps: 2, learningRate: 1e-3 },
    });
    await runPaperTable({ ...tiny, registry, results });
    const dev = JSON.parse(await readFile(join(results, 'paper-table-dev.json'), 'utf8')) as PaperTableFile;
    expect(dev.split).toBe('dev');
    expect(
      dev.cells.map((c) => `${c.category}/${c.method}/seed${c.seed}/${c.settings.steps}`).sort(),
    ).toEqual([
      'cat/bd/seed1/2',
      'cat/bd/seed2/2',
      'cat/ol/seed1/2',
      'cat/ol/seed2/2',
      'dog/bd/seed1/2',
      'dog/bd/seed2/2',
      'dog/ol/seed1/2',
      'dog/ol/seed2/2',
    ]);
    expect(dev.teachers).toHaveLength(4);
    expect(calls.length).toBe(4 + 8);
    expect(calls.filter((c) => c.final)).toEqual([]);
    expect(calls.filter((c) => c.method === 'ol' && !c.balanced)).toEqual([]);
    expect(await readFile(join(results, 'paper-table-dev.md'), 'utf8')).toContain('dev (not the final test)');
    // A rerun resumes: nothing left to compute.
    calls.length = 0;
    await runPaperTable({ ...tiny, registry, results });
    expect(calls).toEqual([]);

    await runPaperTable({ ...tiny, final: true, seeds: '1', registry, results });
    const final = JSON.parse(await readFile(join(results, 'paper-table.json'), 'utf8')) as PaperTableFile;
    expect(final.split).toBe('test');
    expect(calls.map((c) => [c.final, c.steps, c.adapterInit])).toEqual(Array(4).fill([true, 2, 'identity']));
    expect(final.cells.map((c) => c.error)).toEqual(Array(4).fill((10 + 2 + 1) / 400));
  });
});
