import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { cliRunner, publishTinyClassifiers } from '../testing/tiny-classifiers';
import { parseFilters, type VisualizationSummary } from './visualize';

let dir: string;
let reg: string;
const run = cliRunner(() => reg);

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-visualize-'));
  reg = join(dir, 'registry');
  await publishTinyClassifiers(reg, [
    { name: 'cat-cls', category: 'cat' },
    { name: 'bird-cls', category: 'bird' },
  ]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const PNG = [0x89, 0x50, 0x4e, 0x47];

describe('transplant visualize', () => {
  it('visualizes filters of a layer: a grid, a report with the time per unit, JSON; no tensor left', async () => {
    const out = join(dir, 'filters');
    const tensors = tf.memory().numTensors;
    const r = await run(
      '--json',
      'visualize',
      '--net',
      'cat-cls',
      '--layer',
      'block2_conv1',
      '--filter',
      '0,2-4',
      '--steps',
      '16',
      '--batch',
      '3',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(r.stderr).toMatch(/filters: step 32\/32/);
    const summary = JSON.parse(r.stdout) as VisualizationSummary;
    expect(summary).toMatchObject({
      network: 'cat-cls@1.0.0',
      layer: 'cat-cls-features:block2_conv1',
      kind: 'filter',
      steps: 16,
      batch: 3,
      size: 16,
    });
    expect(summary.units.map((u) => u.label)).toEqual(['filter 0', 'filter 2', 'filter 3', 'filter 4']);
    expect(summary.msPerUnit).toBeGreaterThan(0);
    // The optimization raises what it maximizes (a filter silent everywhere stays at 0).
    for (const u of summary.units) expect(u.activation).toBeGreaterThanOrEqual(u.initialActivation);
    expect(summary.units.some((u) => u.activation > u.initialActivation)).toBe(true);
    expect([...(await readFile(join(out, 'grid.png'))).subarray(0, 4)]).toEqual(PNG);
    const md = await readFile(join(out, 'visualize.md'), 'utf8');
    expect(md).toContain('![optimized images](grid.png)');
    expect(md).toMatch(/\*\*[\d.]+ ms per unit\*\* \(measured\)/);
    expect(JSON.parse(await readFile(join(out, 'visualize.json'), 'utf8'))).toEqual(summary);
  });

  it('visualizes graph nodes at their positions, and part groups of a layer', async () => {
    const graph = join(dir, 'cat.egraph');
    const mined = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--out',
      graph,
      '--images',
      '8',
      '--negatives',
      '4',
      '--iterations',
      '2',
    );
    expect(mined.code).toBe(0);
    const nodes = await run(
      '--json',
      'visualize',
      '--net',
      'cat-cls',
      '--graph',
      graph,
      '--node',
      '0:3,1:5',
      '--steps',
      '8',
      '--out',
      join(dir, 'nodes'),
    );
    expect(nodes.code).toBe(0);
    const n = JSON.parse(nodes.stdout) as VisualizationSummary;
    expect(n.kind).toBe('node');
    expect(n.layer).toBe('cat-cls-features:block2_conv1, cat-cls-features:block1_conv1');
    expect(n.units.map((u) => u.label)).toEqual(['node 0:3', 'node 1:5']);
    // Node v of a layer with K nodes per filter is filter ⌊v / K⌋ (8 × 7 and 4 × 13 nodes: K = 7, 13).
    expect(n.units.map((u) => u.channels)).toEqual([[0], [0]]);
    for (const u of n.units) expect(u.cell).toHaveLength(2);
    // A graph of another network would put its nodes on the wrong filters: refused.
    const other = await run(
      'visualize',
      '--net',
      'bird-cls',
      '--graph',
      graph,
      '--node',
      '0:3',
      '--steps',
      '2',
    );
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/E_GRAPH_MISMATCH.*this graph explains cat-cls-features/);

    // A group no filter falls in: the error lists the groups the layer's filters fall in.
    const missing = await run(
      'visualize',
      '--net',
      'cat-cls',
      '--layer',
      'block2_conv1',
      '--group',
      'wing',
      '--steps',
      '1',
      '--images',
      '8',
      '--out',
      join(dir, 'wing'),
    );
    expect(missing.code).not.toBe(0);
    const found = /no filter of the layer falls in the group "wing"; groups found: (\w+) \((\d+)\)/.exec(
      missing.stderr,
    );
    expect(missing.stderr).toMatch(/E_INVALID_ARGUMENT/);
    expect(found).not.toBeNull();
    const groups = await run(
      '--json',
      'visualize',
      '--net',
      'cat-cls',
      '--layer',
      'block2_conv1',
      '--group',
      found![1]!,
      '--steps',
      '8',
      '--images',
      '8',
      '--out',
      join(dir, 'groups'),
    );
    const g = JSON.parse(groups.stdout) as VisualizationSummary;
    expect(g.kind).toBe('group');
    expect(g.units[0]!.label).toBe(`group ${found![1]}`);
    expect(g.units[0]!.channels).toHaveLength(Number(found![2]));
  });

  it('shows the shown nodes’ optimized images in the graph’s HTML browser (graph mine --visualize-steps)', async () => {
    const html = join(dir, 'browser');
    const mined = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--out',
      join(dir, 'b.egraph'),
      '--images',
      '8',
      '--negatives',
      '4',
      '--iterations',
      '1',
      '--html',
      html,
      '--visualize-steps',
      '4',
    );
    expect(mined.code).toBe(0);
    const index = await readFile(join(html, 'index.html'), 'utf8');
    const shown = [...index.matchAll(/<div class="node" id="n-(\d+)-(\d+)">/g)].map((m) => `${m[1]}-${m[2]}`);
    const optimized = [...index.matchAll(/<img src="nodes\/l(\d+)-n(\d+)-optimized\.png"/g)].map(
      (m) => `${m[1]}-${m[2]}`,
    );
    expect(shown.length).toBeGreaterThan(0);
    expect(optimized).toEqual(shown);
    const [l, n] = optimized[0]!.split('-');
    expect([...(await readFile(join(html, 'nodes', `l${l}-n${n}-optimized.png`))).subarray(0, 4)]).toEqual(
      PNG,
    );
    const plain = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--out',
      join(dir, 'c.egraph'),
      '--images',
      '8',
      '--negatives',
      '4',
      '--iterations',
      '1',
      '--html',
      join(dir, 'plain'),
    );
    expect(plain.code).toBe(0);
    expect(await readFile(join(dir, 'plain', 'index.html'), 'utf8')).not.toContain('-optimized.png');
    const alone = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--out',
      join(dir, 'd.egraph'),
      '--visualize-steps',
      '4',
    );
    expect(alone.stderr).toMatch(/E_USAGE.*add --html DIR/);
  });

  it('refuses what names no unit, with coded errors', async () => {
    const v = (...args: string[]) =>
      run('visualize', '--net', 'cat-cls', '--steps', '1', '--out', join(dir, 'bad'), ...args);
    expect((await v('--layer', 'block2_conv1')).stderr).toMatch(
      /E_USAGE.*exactly one of --filter, --node or --group/,
    );
    expect((await v('--filter', '0')).stderr).toMatch(/E_USAGE.*--filter needs --layer/);
    expect((await v('--layer', 'block2_conv1', '--filter', '8')).stderr).toMatch(
      /E_INVALID_ARGUMENT.*channel 8 is out of range; the layer has filters 0…7/,
    );
    expect((await v('--layer', 'nope', '--filter', '0')).stderr).toMatch(
      /E_INVALID_ARGUMENT.*no layer "nope".*block2_conv1/,
    );
    expect((await v('--layer', 'block2_conv1', '--filter', '3-1')).stderr).toMatch(
      /E_USAGE.*"3-1" is not a filter/,
    );
    expect((await v('--node', '0:1', '--layer', 'block2_conv1')).stderr).toMatch(
      /E_USAGE.*leave out --layer/,
    );
  });

  it('parses filter lists and ranges', () => {
    expect(parseFilters('0,3,8-11,3')).toEqual([0, 3, 8, 9, 10, 11]);
    expect(() => parseFilters('a')).toThrow(/not a filter/);
  });
});
