import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network, createModule, disposeModule, type ModuleInstance } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { pseudoLabelProbe } from './bd-loss';
import { Rng } from '@transplant/data';
import { drawIndices, trainAdapter, trainAdapterOnFeatures } from './train-adapter';
import type { DistillMethod } from './training-defaults';
import { tinyModules } from './testing/tiny-modules';

const snapshot = (modules: readonly ModuleInstance[]) =>
  Object.fromEntries(
    modules.flatMap((m) =>
      m.built.layers.flatMap((l) => l.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())])),
    ),
  );

describe('drawIndices', () => {
  it('class-balanced: every other pick shows the category, however rare it is in the pool', () => {
    const classes = { positive: [3], rest: [0, 1, 2, 4, 5, 6, 7, 8, 9] };
    const picked = drawIndices(new Rng('b'), 32, 10, classes);
    expect(picked.filter((_, i) => i % 2 === 0)).toEqual(Array(16).fill(3));
    expect(picked.filter((_, i) => i % 2 === 1).every((k) => k !== 3)).toBe(true);
    expect(new Set(picked.filter((_, i) => i % 2 === 1)).size).toBeGreaterThan(4);
    // Uniform: the rare class turns up about as often as the pool holds it.
    const uniform = drawIndices(new Rng('u'), 1000, 10);
    expect(uniform.filter((k) => k === 3).length).toBeLessThan(150);
    expect(new Set(uniform).size).toBe(10);
  });
});

describe('trainAdapter', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each<DistillMethod>(['bd', 'kd', 'ol'])(
    '%s changes only the adapter: f, g and the teacher stay bit-identical; tensors are freed',
    (method) => {
      const start = tf.memory().numTensors;
      const m = tinyModules(4, 1);
      const network = Network.create(
        [m.category, m.task, m.adapter],
        [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }],
      );
      const frozen = [m.category, m.task, m.teacherTask];
      const before = snapshot(frozen);
      const adapterBefore = snapshot([m.adapter]);
      const images = tf.randomUniform([12, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const labels = tf.tensor1d(Array.from({ length: 12 }, (_, i) => i % 2));
      const result = trainAdapter({
        network,
        link: { category: 'cat-features', adapter: 'cat-bird-adapter', task: 'bird-head' },
        method,
        teacher: (x) => m.teacherTask.model.apply(x) as tf.Tensor,
        unlabeled: images,
        labelled: { images, targets: labels },
        steps: 12,
        batchSize: 6,
        learningRate: 1e-2,
        seed: 1,
      });
      expect(result.losses).toHaveLength(12);
      expect(snapshot(frozen)).toEqual(before);
      const adapterAfter = snapshot([m.adapter]);
      expect(
        Object.keys(adapterAfter).some(
          (k) => JSON.stringify(adapterAfter[k]) !== JSON.stringify(adapterBefore[k]),
        ),
      ).toBe(true);
      tf.dispose([images, labels]);
      network.dispose();
      disposeModule(m.teacherTask);
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it.each<DistillMethod>(['bd', 'ol'])(
    '%s on cached features f(I) trains exactly as on the images (same losses, same adapter)',
    (method) => {
      const start = tf.memory().numTensors;
      const images = tf.randomUniform([12, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const labels = tf.tensor1d(Array.from({ length: 12 }, (_, i) => i % 2));
      const run = (onFeatures: boolean) => {
        const m = tinyModules(6, 1);
        const network = Network.create(
          [m.category, m.task, m.adapter],
          [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }],
        );
        const common = {
          method,
          teacher: (x: tf.Tensor4D) => m.teacherTask.model.apply(x) as tf.Tensor,
          steps: 8,
          batchSize: 6,
          learningRate: 1e-2,
          seed: 3,
          balanced: method === 'ol',
        };
        let losses: number[];
        if (onFeatures) {
          const x = m.category.model.predict(images) as tf.Tensor4D;
          losses = trainAdapterOnFeatures({
            ...common,
            adapter: m.adapter,
            task: m.task,
            unlabeled: x,
            labelled: { images: x, targets: labels },
          }).losses;
          x.dispose();
        } else {
          losses = trainAdapter({
            ...common,
            network,
            link: { category: 'cat-features', adapter: 'cat-bird-adapter', task: 'bird-head' },
            unlabeled: images,
            labelled: { images, targets: labels },
          }).losses;
        }
        const weights = snapshot([m.adapter]);
        network.dispose();
        disposeModule(m.teacherTask);
        return { losses, weights };
      };
      const fromImages = run(false);
      const fromFeatures = run(true);
      expect(fromFeatures.losses).toEqual(fromImages.losses);
      expect(fromFeatures.weights).toEqual(fromImages.weights);
      expect(new Set(fromImages.losses).size).toBeGreaterThan(1);
      tf.dispose([images, labels]);
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it('back-distillation brings the student’s gradients and outputs towards the teacher’s', () => {
    const m = tinyModules(5, 1);
    const network = Network.create(
      [m.category, m.task, m.adapter],
      [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }],
    );
    const images = tf.randomUniform([24, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const { losses } = trainAdapter({
      network,
      link: { category: 'cat-features', adapter: 'cat-bird-adapter', task: 'bird-head' },
      method: 'bd',
      teacher: (x) => m.teacherTask.model.apply(x) as tf.Tensor,
      unlabeled: images,
      steps: 150,
      batchSize: 24,
      learningRate: 1e-2,
      seed: 2,
    });
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(0.7 * first);
    images.dispose();
    network.dispose();
    disposeModule(m.teacherTask);
  });
});

describe('probes of a mask output', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('the pseudo-label probe is the BCE loss gradient at the teacher’s logits against its own hard mask', () => {
    const logits = tf.tensor4d([-3, -0.2, 0.1, 4], [1, 2, 2, 1]);
    const hard = tf.cast(tf.greater(logits, 0), 'float32');
    const bce = (y: tf.Tensor) => tf.losses.sigmoidCrossEntropy(hard, y, undefined, 0, tf.Reduction.SUM);
    const expected = tf.grad(bce)(logits);
    const probe = pseudoLabelProbe(logits);
    expect(Array.from(probe.dataSync())).toEqual(
      Array.from(expected.dataSync()).map((v) => expect.closeTo(v, 6)),
    );
    // Largest where the teacher is least sure, with the sign pushing toward its decision.
    const v = Array.from(probe.dataSync());
    expect(Math.abs(v[1]!)).toBeGreaterThan(Math.abs(v[0]!));
    expect(v[2]).toBeLessThan(0);
    tf.dispose([logits, hard, expected, probe]);
  });

  it.each(['random', 'pseudo-label'] as const)(
    'bd on a segmentation head with %s probes trains only the adapter and frees its tensors',
    (probe) => {
      const start = tf.memory().numTensors;
      const m = tinyModules(6, 1);
      const seg = createModule(m.plugins, { name: 'bird-seg-head', family: 'tiny-seg', seed: 40 });
      const teacher = createModule(m.plugins, { name: 'cat-seg-head', family: 'tiny-seg', seed: 41 });
      const network = Network.create(
        [m.category, seg, m.adapter],
        [{ category: 'cat-features', task: 'bird-seg-head', adapter: 'cat-bird-adapter' }],
      );
      const adapterBefore = snapshot([m.adapter]);
      const frozenBefore = snapshot([m.category, seg, teacher]);
      const images = tf.randomUniform([8, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const { losses } = trainAdapter({
        network,
        link: { category: 'cat-features', adapter: 'cat-bird-adapter', task: 'bird-seg-head' },
        method: 'bd',
        teacher: (x) => teacher.model.apply(x) as tf.Tensor,
        unlabeled: images,
        steps: 5,
        batchSize: 4,
        learningRate: 1e-2,
        seed: 3,
        probe,
      });
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(snapshot([m.category, seg, teacher])).toEqual(frozenBefore);
      expect(snapshot([m.adapter])).not.toEqual(adapterBefore);
      images.dispose();
      network.dispose();
      [m.task, m.teacherTask, teacher].forEach(disposeModule);
      expect(tf.memory().numTensors).toBe(start);
    },
  );
});
