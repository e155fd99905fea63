import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@transplant/core';
import { testPlugins } from '@transplant/platform/testing';
import {
  GRAPH_IMAGE_SEEDS,
  drawGraphNodes,
  graphSize,
  loadGraph,
  localizeParts,
  mineCategoryGraph,
  summariseGraph,
} from '@transplant/explanatory-graph';
import {
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  interpretNetworkLayer,
  networkModules,
} from '@transplant/interpretable';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The graph and interpret workflows the CLI and the experiments share, on a tiny network. */
const tiny = {
  ...INTERPRETABLE_DEFAULTS,
  imageSize: 16,
  blocks: [[4], [8]],
  categories: ['cat'] as const,
  mask: 'none' as const,
};
const names = networkModules('w');
const link = { category: names.category, task: names.task };
let dir = '';
let network: ReturnType<typeof buildExperimentNetwork>;

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  network = buildExperimentNetwork(testPlugins(), 'w', tiny);
  dir = await mkdtemp(join(tmpdir(), 'transplant-graph-workflows-'));
});
afterAll(async () => {
  network.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('graph workflows', () => {
  it('mine, localize and draw with the same seeds every time, leaving no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const progress: string[] = [];
    const mined = await mineCategoryGraph({
      network,
      link,
      category: 'cat',
      reference: 'w@1.0.0',
      images: 8,
      negatives: 4,
      iterations: 2,
      out: join(dir, 'w.egraph'),
      onProgress: (p) => progress.push(`${p.layer} ${p.iteration}/${p.iterations}`),
    });
    expect(progress).toContain(`${names.category}:block1_conv1 2/2`);
    expect(mined.images.samples).toHaveLength(8);
    expect(mined.digest).toMatch(/^sha256:/);
    const saved = await loadGraph(mined.file!);
    expect(summariseGraph(saved).nodes).toBe(graphSize(mined.graph).total);
    expect(saved.mining.seed).toBe('explanatory-graph');

    const localize = (seed: string) =>
      localizeParts({
        graph: mined.graph,
        network,
        link,
        category: 'cat',
        pool: mined.images,
        test: { count: 6, seed: GRAPH_IMAGE_SEEDS.test },
        shots: [1, 2],
        draws: 2,
        top: 5,
        seed,
        picture: { file: join(dir, `parts-${seed}.png`), k: 1, index: 0, title: 'parts' },
      });
    const first = await localize('a');
    const again = await localize('a');
    expect(again.results).toEqual(first.results);
    expect(first.results.map((r) => r.k)).toEqual(first.parts.flatMap(() => [1, 2]));
    expect(first.test.images.samples).toHaveLength(6);
    expect(await readFile(first.png!)).toEqual(await readFile(again.png!));
    await expect(
      localizeParts({
        graph: mined.graph,
        network,
        link,
        category: 'cat',
        pool: mined.images,
        test: mined.images,
        parts: ['wing'],
        shots: [1],
        draws: 1,
        top: 5,
        seed: 'a',
      }),
    ).rejects.toThrow(/"wing" is not an annotated part of cat/);

    const png = await drawGraphNodes({
      graph: mined.graph,
      network,
      link,
      category: 'cat',
      images: { count: 4, seed: GRAPH_IMAGE_SEEDS.test },
      nodes: [{ layer: 0, node: 1 }],
      columns: 2,
      file: join(dir, 'nodes.png'),
    });
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('interpretNetworkLayer: the metrics of one layer and its heat maps, leaving no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const report = await interpretNetworkLayer({
      network,
      link,
      reference: 'w@1.0.0',
      layer: 'block2_conv1',
      category: 'cat',
      images: 6,
      crop: true,
      png: join(dir, 'heat.png'),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(report).toMatchObject({ network: 'w@1.0.0', layer: 'block2_conv1', images: 6, filters: 8 });
    expect(report.perFilter).toHaveLength(8);
    expect((await readFile(report.png!)).subarray(1, 4).toString()).toBe('PNG');
  });
});
