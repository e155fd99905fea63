import * as tf from '@tensorflow/tfjs';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import { SyntheticSet } from '@transplant/data';
import {
  Explainer,
  explain,
  featurePool,
  fidelity,
  imageTensor,
  performerOf,
  trainExplainer,
  TRAINING_DEFAULTS,
} from '@transplant/explainer';
import { INTERPRETABLE_DEFAULTS, buildExperimentNetwork, networkModules } from '@transplant/interpretable';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

describe('explainer of a performer network', () => {
  it('cuts the performer, learns from its features, accounts for every share, and measures fidelity, without leaking tensors', () => {
    const network = buildExperimentNetwork(testPlugins(), 'p', {
      ...INTERPRETABLE_DEFAULTS,
      imageSize: 16,
      blocks: [[4], [8]],
      categories: ['cat'],
      mask: 'none',
    });
    const names = networkModules('p');
    const performer = performerOf(network, { category: names.category, task: names.task });
    expect(performer).toMatchObject({ split: 'conv1', xShape: [8, 8, 8], yShape: [8, 8, 64] });
    expect(performer.geometry).toMatchObject({ scale: 2, mapSize: [8, 8] });
    expect(() => performerOf(network, { category: names.category, task: names.task }, 'nope')).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('no layer "nope"'),
      }),
    );
    // Cutting and re-joining gives the performer's own logits.
    const set = new SyntheticSet({
      seed: 'explainer-spec',
      size: 16,
      categories: ['cat'],
      perCategory: { train: 8, dev: 0, test: 4 },
      negatives: { train: 4, dev: 0, test: 4 },
      rivers: { cat: true },
    });
    const samples = set.items('train').map((r) => set.render(r));
    tf.tidy(() => {
      const images = imageTensor(samples.slice(0, 3));
      const whole = network.run(names.category, names.task, images).dataSync();
      const cut = performer.upper(performer.higher(performer.features(images))).dataSync();
      for (let i = 0; i < 3; i++) expect(cut[i]).toBeCloseTo(whole[i]!, 5);
    });

    const before = tf.memory().numTensors;
    const pool = featurePool(performer, (a, b) => imageTensor(samples.slice(a, b)), samples.length);
    expect(pool.x.shape).toEqual([12, 8, 8, 8]);
    const ex = new Explainer(performer.xShape, performer.yShape, {
      filters: 6,
      mask: 'argmax',
      seed: 1,
      p0: 0.5,
    });
    trainExplainer({ explainer: ex, pool }, { ...TRAINING_DEFAULTS, steps: 4, batchSize: 4 });
    const test = set.items('test').map((r) => set.render(r));
    const explanation = explain({ performer, explainer: ex }, { samples: test, topN: 3 });
    const accuracy = fidelity(
      { performer, explainer: ex },
      { samples: test, labels: test.map((s) => (s.annotation.category === 'cat' ? 1 : 0)) },
    );
    tf.dispose([pool.x, pool.y, pool.logits!]);
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);

    expect(explanation.filters).toHaveLength(6);
    expect(explanation.images).toHaveLength(8);
    const interpretable = explanation.groups.reduce((s, g) => s + g.ofInterpretable, 0);
    if (explanation.interpretableShare > 0) expect(interpretable).toBeCloseTo(1, 6);
    // Parts, river, background and the ordinary track account for everything.
    expect(explanation.groups.reduce((s, g) => s + g.share, 0) + (1 - explanation.p)).toBeCloseTo(
      explanation.interpretableShare > 0 ? 1 : 1 - explanation.p,
      6,
    );
    for (const f of explanation.filters)
      expect([
        'head',
        'neck',
        'torso',
        'front-legs',
        'hind-legs',
        'tail',
        'ears',
        'horns',
        'beak',
        'wings',
        'river',
        'background',
        'silent',
      ]).toContain(f.group);
    expect(accuracy.performer).toBeGreaterThanOrEqual(0);
    expect(accuracy.explained).toBeLessThanOrEqual(1);
    network.dispose();
  });
});
