import * as tf from '@tensorflow/tfjs';
import { testPlugins } from '@transplant/platform/testing';
import { moduleWeights, partMaskLayers, selectBackend } from '@transplant/core';
import {
  experimentData,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  cellGeometry,
  findLayer,
  interpretLayer,
  networkModules,
  partImages,
  renderFilterHeatmaps,
  trainExperimentNetwork,
} from '@transplant/interpretable';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatInterpretableReport, referenceInstability, runOne } from './interpretable-runs';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const quiet = (): void => undefined;
const tiny = { ...INTERPRETABLE_DEFAULTS, imageSize: 16, blocks: [[4], [8]], batchSize: 4, steps: 2 };

describe('interpretable networks', () => {
  it('trains an interpretable network without leaking tensors: only the modules move, β relaxes, the masked layer is measured', () => {
    const o = { ...tiny, categories: ['cat'] as const, mask: 'argmax' as const };
    const network = buildExperimentNetwork(testPlugins(), 't', o);
    const names = networkModules('t');
    const link = { category: names.category, task: names.task };
    const mask = partMaskLayers(network.module(names.category).built.layers)[0]!;
    const before = tf.memory().numTensors;
    const kernel = moduleWeights(network.module(names.category).built, network.module(names.category).prefix)
      ['block2_conv1/kernel']!.dataSync()
      .slice();
    const result = trainExperimentNetwork(
      { network, name: 't', data: experimentData({ categories: ['cat'], seed: 1, size: 16 }), log: quiet },
      o,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(result.curve.at(-1)!.step).toBe(2);
    const after = moduleWeights(network.module(names.category).built, network.module(names.category).prefix);
    expect(after['block2_conv1/kernel']!.dataSync()).not.toEqual(kernel);
    expect(Array.from(mask.beta.read().dataSync()).some((b) => b !== 2)).toBe(true);

    // The top conv layer sits at stride 2 (one pool), cells centred at 2u + 1.
    const geometry = cellGeometry(findLayer(network, link, 'block2_conv1_mask'));
    expect(geometry).toEqual({ scale: 2, offset: 1, mapSize: [8, 8], imageSize: [16, 16] });
    expect(() => findLayer(network, link, 'hidden')).toThrow(/does not output a feature map/);
    expect(() => findLayer(network, link, 'nope')).toThrow(/no layer "nope"/);

    const images = partImages('cat', { count: 6, size: 16 });
    const countBefore = tf.memory().numTensors;
    const interp = interpretLayer({ network, link }, { layer: 'block2_conv1_mask', images, topN: 3 });
    expect(tf.memory().numTensors).toBe(countBefore);
    expect(interp.filters).toBe(8);
    expect(interp.images).toBe(6);
    expect(interp.interpretability.perFilter).toHaveLength(8);
    const png = renderFilterHeatmaps(interp, images, { filters: 2, images: 2 });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    network.dispose();
  });

  it('the exact filter loss trains too (multi-category, softmax head), and a run writes its numbers and report', async () => {
    const o = { ...tiny, filterLoss: 'exact' as const };
    const result = await runOne(
      { categories: ['cat', 'dog'], kind: 'interpretable' },
      {
        plugins: testPlugins(),
        training: o,
        mask: 'centroid',
        images: 4,
        testPerClass: 2,
        heatmap: null,
        log: quiet,
      },
    );
    expect(result.key).toBe('multi-cat-dog-interpretable');
    // 2 held-out images per class (cat, dog, background): the error is a count of 6.
    expect(Math.abs(result.error * 6 - Math.round(result.error * 6))).toBeLessThan(1e-9);
    expect(Object.keys(result.perCategory)).toEqual(['cat', 'dog']);
    expect(result.perCategory['cat']!.consumed.layer).toBe('block2_conv1_mask');
    expect(result.perCategory['cat']!.beforeMask!.layer).toBe('block2_conv1');
    expect(Object.values(result.assignment!).reduce((s, n) => s + n, 0)).toBe(8);
    const report = formatInterpretableReport([result], ['interpretable/x.png'], {
      cat: { partDetector: 0.03, random: 0.11 },
    });
    expect(report).toContain('| multi-cat-dog | – |');
    expect(report).toContain('![interpretable/x.png]');
  });

  it('a filter at a part centre is far more stable than one at random cells', () => {
    const r = referenceInstability('cat', { images: 40, crop: false });
    expect(r.partDetector).toBeLessThan(r.random / 2);
  });
});
