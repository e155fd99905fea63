import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { cliRunner, publishTinyClassifiers } from '../testing/tiny-classifiers';
import type { MetricsReport } from './interpret';

let dir: string;
let reg: string;
const run = cliRunner(() => reg);

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-interpret-'));
  reg = join(dir, 'registry');
  await publishTinyClassifiers(reg, [
    { name: 'cat-cls', category: 'cat', mask: 'argmax' },
    { name: 'thing-cls', category: 'thing', mask: 'argmax' },
  ]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant interpret metrics', () => {
  it('measures a layer of a published network with an interpretable category module and draws its heat maps', async () => {
    const png = join(dir, 'maps.png');
    const { code, stdout, stderr } = await run(
      '--json',
      'interpret',
      'metrics',
      '--net',
      'cat-cls',
      '--layer',
      'block2_conv1_mask',
      '--images',
      '6',
      '--png',
      png,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as MetricsReport;
    expect(report).toMatchObject({
      network: 'cat-cls@1.0.0',
      module: 'cat-cls-features',
      layer: 'block2_conv1_mask',
      category: 'cat',
      images: 6,
      filters: 8,
      geometry: { scale: 2, offset: 1, mapSize: [8, 8] },
    });
    expect(report.perFilter).toHaveLength(8);
    // The summary is of the per-filter numbers: the instability is the mean over the filters that
    // fire on enough images (here all 8, each with its own value), the interpretability the mean
    // of the filters' scores (0 for this untrained 16-pixel network: no map overlaps a part).
    const unstable = report.perFilter.map((f) => f.instability).filter((v): v is number => v !== null);
    expect(unstable).toHaveLength(report.instability.active);
    expect(new Set(unstable).size).toBe(8);
    expect(report.instability.mean).toBeCloseTo(unstable.reduce((s, v) => s + v, 0) / unstable.length, 9);
    const scores = report.perFilter.map((f) => f.score);
    expect(report.interpretability.mean).toBeCloseTo(scores.reduce((s, v) => s + v, 0) / 8, 9);
    expect(Object.values(report.interpretability.filtersPerPart).reduce((s, n) => s + n, 0)).toBe(
      scores.filter((v) => v > 0).length,
    );
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('refuses an unknown layer, listing the ones with feature maps, and asks for --category when the module’s category has no synthetic images', async () => {
    const wrong = await run('interpret', 'metrics', '--net', 'cat-cls', '--layer', 'nope', '--images', '6');
    // The layer probe (a library) says E_INVALID_ARGUMENT; the CLI still exits 2, as for E_USAGE.
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/E_INVALID_ARGUMENT.*no layer "nope".*cat-cls-features:block2_conv1_mask/);
    const nameless = await run(
      'interpret',
      'metrics',
      '--net',
      'thing-cls',
      '--layer',
      'block2_conv1',
      '--images',
      '6',
    );
    expect(nameless.stderr).toMatch(
      /E_USAGE.*"thing" is not a category of the synthetic set; pass --category/,
    );
    const ok = await run(
      'interpret',
      'metrics',
      '--net',
      'thing-cls',
      '--layer',
      'block2_conv1',
      '--images',
      '6',
      '--category',
      'dog',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/8 filters on 6 dog images/);
  });
});
