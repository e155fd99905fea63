import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModuleWeights, moduleWeights, parsePluginOptions, selectBackend } from '@transplant/core';
import { ChannelBatchNorm } from './batch-norm';
import { categoryVgg, foldBatchNorm } from './category-vgg';

function build(raw: Record<string, unknown>, prefix: string) {
  const options = parsePluginOptions(categoryVgg, raw);
  const built = categoryVgg.build(options, { seed: 3, prefix });
  const input = tf.input({ shape: categoryVgg.ports(options).input.shape.slice(1) as number[] });
  return { options, built, model: tf.model({ inputs: input, outputs: built.apply(input) }) };
}

describe('category-vgg', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each(['none', 'argmax'])(
    'folds batch normalisation into the plain form, which computes the same map as the BN module in inference mode (mask %s)',
    (mask) => {
      const raw = { inputSize: 8, blocks: [[4], [5, 6]], batchNorm: true, mask };
      const bn = build(raw, 'bn__');
      // A part mask's β is carried over unchanged.
      for (const layer of bn.built.layers.filter((l) => l.name.endsWith('_mask')))
        layer.setWeights([tf.tensor1d([2.7, 1.6, 2.2, 1.9, 2.5, 3])]);
      // Give the BN layers statistics and affine parameters far from their initial 1s and 0s.
      for (const layer of bn.built.layers.filter((l) => l.name.endsWith('_bn'))) {
        const shapes = layer.getWeights().map((w) => w.shape);
        layer.setWeights(
          shapes.map((s, k) => tf.randomUniform(s, k === 3 ? 0.2 : -1, k === 3 ? 2 : 1, 'float32', 10 + k)),
        );
      }
      const folded = foldBatchNorm(bn.options, moduleWeights(bn.built, 'bn__'));
      expect(folded.options.batchNorm).toBe(false);
      expect(folded.options.mask).toBe(mask);
      const plain = build({ ...folded.options }, 'plain__');
      loadModuleWeights(
        { built: plain.built, prefix: 'plain__' },
        { tensors: folded.weights, module: 'folded' },
      );
      tf.dispose(Object.values(folded.weights));

      const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 5);
      const [a, b] = [bn.model.predict(x) as tf.Tensor, plain.model.predict(x) as tf.Tensor];
      expect(b.shape).toEqual(a.shape);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
      const scale = tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]!);
      expect(scale).toBeGreaterThan(0.1);
      expect(diff).toBeLessThan(1e-5 * Math.max(1, scale));
      tf.dispose([x, a, b]);
      bn.model.dispose();
      plain.model.dispose();
    },
  );

  it('batch-normalises like the stock Keras layer: training-mode output, gradients and moving averages', () => {
    const ours = new ChannelBatchNorm({ name: 'ours_bn', momentum: 0.9, epsilon: 1e-3 });
    const stock = tf.layers.batchNormalization({ name: 'stock_bn', axis: -1, momentum: 0.9, epsilon: 1e-3 });
    const x = tf.randomNormal([4, 3, 5, 6], 2, 3, 'float32', 7);
    ours.apply(x, { training: false });
    stock.apply(x, { training: false });
    const params = [
      tf.randomUniform([6], 0.5, 2, 'float32', 1),
      tf.randomUniform([6], -1, 1, 'float32', 2),
      tf.zeros([6]),
      tf.ones([6]),
    ];
    ours.setWeights(params);
    stock.setWeights(params);
    const dy = tf.randomNormal([4, 3, 5, 6], 0, 1, 'float32', 8);
    const run = (layer: tf.layers.Layer) => {
      const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const f = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, dy));
      const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [gamma!, beta!]);
      const dx = tf.grad(f)(x);
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      return {
        y,
        value,
        dx,
        dGamma: grads[gamma!.name]!,
        dBeta: grads[beta!.name]!,
        moving: layer.getWeights().slice(2),
      };
    };
    const before = tf.memory().numTensors;
    const a = run(ours);
    const b = run(stock);
    const close = (p: tf.Tensor, q: tf.Tensor) =>
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]!)).toBeLessThan(1e-4);
    close(a.y, b.y);
    close(a.dx, b.dx);
    close(a.dGamma, b.dGamma);
    close(a.dBeta, b.dBeta);
    // Three training-mode calls each (two forwards for the gradients, one for y) moved both layers' averages alike (getWeights gives the live values: not disposed here).
    close(a.moving[0]!, b.moving[0]!);
    close(a.moving[1]!, b.moving[1]!);
    expect(tf.tidy(() => tf.max(tf.abs(a.moving[0]!)).dataSync()[0]!)).toBeGreaterThan(0.5);
    tf.dispose([a.y, a.value, a.dx, a.dGamma, a.dBeta, b.y, b.value, b.dx, b.dGamma, b.dBeta]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, dy, ...params]);
    ours.dispose();
    stock.dispose();
  });

  it('refuses to fold a module built without batch normalisation', () => {
    const options = parsePluginOptions(categoryVgg, { inputSize: 8, blocks: [[4]] });
    expect(() => foldBatchNorm(options, {})).toThrow(/batchNorm: true/);
  });
});
