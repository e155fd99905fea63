import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { killAndResume } from '@transplant/core/testing';
import type { PaperTableFile, TuningFile } from './paper-table-format';
import { publishTinyZoo } from './testing/tiny-zoo';

const RUNNER = fileURLToPath(new URL('./testing/run-experiment.ts', import.meta.url));
let dir: string;
let template: string;
let copies = 0;

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-paper-table-resume-'));
  template = join(dir, 'template');
  await publishTinyZoo(template);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const fresh = async () => {
  const copy = join(dir, `registry-${copies++}`);
  await cp(template, copy, { recursive: true });
  return copy;
};

const grid = {
  categories: 'cat,dog',
  adapters: '1',
  samples: '10',
  methods: 'ol,bd',
  modes: 'transplanted',
  seeds: '1',
  tuneCategories: 'cat',
  tuneSamples: '10',
  tuneSteps: '20,40',
};

/** What a run measured, without when and how long: the tuning runs' errors, the choices and the dev cells. */
async function measured(results: string) {
  const tuning = JSON.parse(await readFile(join(results, 'paper-table-tuning.json'), 'utf8')) as TuningFile;
  const dev = JSON.parse(await readFile(join(results, 'paper-table-dev.json'), 'utf8')) as PaperTableFile;
  const key = (r: { category: string; method: string; seed: number }) =>
    `${r.category}/${r.method}/${r.seed}`;
  return {
    tuning: tuning.runs
      .map(({ seconds: _s, ...run }) => run)
      .sort((a, b) => `${key(a)}/${a.init}`.localeCompare(`${key(b)}/${b.init}`)),
    chosen: tuning.chosen,
    cells: dev.cells
      .map((c) => ({ key: key(c), error: c.error, wrong: c.wrong, settings: c.settings, images: c.images }))
      .sort((a, b) => a.key.localeCompare(b.key)),
  };
}

describe('the paper-table experiment killed with SIGKILL at random points', () => {
  it('resumes cell by cell to the results of an uninterrupted run', async () => {
    const outcome = await killAndResume({
      script: RUNNER,
      // The grid on dev, then the table with the settings it chose, in one process.
      argv: (registry) => {
        const results = `${registry}-results`;
        return [
          'paper-table',
          JSON.stringify({ ...grid, tune: true, registry, results }),
          JSON.stringify({ ...grid, registry, results }),
        ];
      },
      window: [0.1, 0.95],
      kills: 10,
      seed: 3,
      freshRegistry: fresh,
      afterKill: async () => undefined,
    });
    expect(outcome.kills).toBeGreaterThanOrEqual(10);
    const expected = await measured(`${outcome.reference.registry}-results`);
    expect(expected.cells).toHaveLength(4);
    // Some kills came after cells were saved: the run that finished computed fewer cells than
    // the uninterrupted one (each computed cell prints its error).
    const computed = (stderr: string) => stderr.match(/steps\)… error /g)?.length ?? 0;
    expect(computed(outcome.reference.stderr)).toBe(8);
    expect(outcome.finished.some((run) => computed(run.stderr) < 8)).toBe(true);
    for (const run of outcome.finished) expect(await measured(`${run.registry}-results`)).toEqual(expected);
  }, 900_000);
});
