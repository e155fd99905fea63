import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network, disposeModule, type ModuleInstance } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { trainAdapter, type DistillMethod } from './train-adapter';
import { tinyModules } from './testing/tiny-modules';

const snapshot = (modules: readonly ModuleInstance[]) =>
  Object.fromEntries(modules.flatMap((m) => m.built.layers.flatMap((l) => l.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]))));

describe('trainAdapter', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each<DistillMethod>(['bd', 'kd', 'ol'])('%s changes only the adapter: f, g and the teacher stay bit-identical; tensors are freed', (method) => {
    const start = tf.memory().numTensors;
    const m = tinyModules(4, 1);
    const network = Network.create([m.category, m.task, m.adapter], [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }]);
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
    expect(Object.keys(adapterAfter).some((k) => JSON.stringify(adapterAfter[k]) !== JSON.stringify(adapterBefore[k]))).toBe(true);
    tf.dispose([images, labels]);
    network.dispose();
    disposeModule(m.teacherTask);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('back-distillation brings the student’s gradients and outputs towards the teacher’s', () => {
    const m = tinyModules(5, 1);
    const network = Network.create([m.category, m.task, m.adapter], [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }]);
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
