import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { cliRunner, publishTinyClassifiers } from '../testing/tiny-classifiers';
import type { GraphSummary } from './graph';

let dir: string;
let reg: string;
const run = cliRunner(() => reg);

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-graph-'));
  reg = join(dir, 'registry');
  await publishTinyClassifiers(reg, [{ name: 'cat-cls', category: 'cat' }]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant graph', () => {
  it('mines a graph into a file and onto the category module, inspects it, and localizes parts with the attached one', async () => {
    const file = join(dir, 'cat.egraph');
    const tensors = tf.memory().numTensors;
    const mined = await run(
      '--json',
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--out',
      file,
      '--attach',
      '--images',
      '8',
      '--negatives',
      '4',
      '--iterations',
      '2',
    );
    expect(mined.code).toBe(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(mined.stderr).toMatch(/block2_conv1: EM 2\/2/);
    const summary = JSON.parse(mined.stdout) as GraphSummary;
    expect(summary).toMatchObject({
      subject: { module: 'cat-cls-features', version: '1.0.0', network: 'cat-cls@1.0.0' },
      nodes: 8 * 7 + 4 * 13,
      attached: 'cat-cls-features@1.0.0',
      views: 'align',
    });
    expect(summary.layers.map((l) => l.name)).toEqual([
      'cat-cls-features:block2_conv1',
      'cat-cls-features:block1_conv1',
    ]);
    expect(summary.digest).toMatch(/^sha256:/);

    const info = await run('registry', 'info', 'cat-cls-features');
    expect(info.stdout).toMatch(new RegExp(`attached explanatory-graph  ${summary.digest}`));
    const inspected = await run('--json', 'graph', 'inspect', '--graph', file);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ nodes: summary.nodes, subject: summary.subject });

    const nodes = join(dir, 'nodes.png');
    const drawn = await run(
      'graph',
      'nodes',
      '--net',
      'cat-cls',
      '--graph',
      file,
      '--nodes',
      '0:3,1:50',
      '--png',
      nodes,
      '--images',
      '6',
      '--columns',
      '3',
    );
    expect(drawn.stderr).toBe('');
    expect((await readFile(nodes)).subarray(1, 4).toString()).toBe('PNG');
    expect(
      (await run('graph', 'nodes', '--net', 'cat-cls', '--graph', file, '--nodes', '1:52', '--png', nodes))
        .stderr,
    ).toMatch(/E_USAGE.*"1:52" is not a node.*56, 52 nodes per layer/);

    const png = join(dir, 'parts.png');
    const localized = await run(
      '--json',
      'graph',
      'localize',
      '--net',
      'cat-cls',
      '--parts',
      'head,torso',
      '--shots',
      '1,2',
      '--pool',
      '6',
      '--test',
      '4',
      '--draws',
      '2',
      '--png',
      png,
      '--index',
      '3',
    );
    expect(localized.stderr).toBe('');
    const report = JSON.parse(localized.stdout) as {
      results: { part: string; k: number; distance: Record<string, number> }[];
    };
    expect(report.results.map((r) => `${r.part}:${r.k}`)).toEqual(['head:1', 'head:2', 'torso:1', 'torso:2']);
    expect(Object.keys(report.results[0]!.distance)).toEqual([
      'graph',
      'filter-best',
      'filter-ensemble',
      'pooled-linear',
      'filter-ensemble-aligned',
      'pooled-linear-aligned',
    ]);
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
    // Mining, drawing and localizing free every tensor they make.
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('says what is wrong: nowhere to put the graph, a second attach without --replace, an unknown part, a damaged file', async () => {
    expect((await run('graph', 'mine', '--net', 'cat-cls')).stderr).toMatch(
      /E_USAGE.*--out FILE and\/or --attach/,
    );
    const again = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--attach',
      '--images',
      '4',
      '--negatives',
      '2',
      '--iterations',
      '1',
      '--seed',
      'other',
    );
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/E_VERSION_EXISTS.*already has an explanatory-graph attachment.*--replace/);
    const replaced = await run(
      'graph',
      'mine',
      '--net',
      'cat-cls',
      '--attach',
      '--replace',
      '--images',
      '4',
      '--negatives',
      '2',
      '--iterations',
      '1',
      '--seed',
      'other',
    );
    expect(replaced.code).toBe(0);
    const part = await run(
      'graph',
      'localize',
      '--net',
      'cat-cls',
      '--parts',
      'beak',
      '--pool',
      '4',
      '--test',
      '2',
    );
    expect(part.stderr).toMatch(/E_INVALID_ARGUMENT.*"beak" is not an annotated part of cat/);
    const file = join(dir, 'cat.egraph');
    const bytes = await readFile(file);
    bytes[bytes.length - 3]! ^= 0xff;
    const damaged = join(dir, 'damaged.egraph');
    await writeFile(damaged, bytes);
    expect((await run('graph', 'inspect', '--graph', damaged)).stderr).toMatch(/E_ARTIFACT_CORRUPT/);
  });
});
