import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnednn } from '@transplant/native';
import { BatchNormalization } from '../../layers/batch-normalization';
import { selectBackend } from '../select-backend';
import { fallbackCounts, resetFallbacks } from './fallback-log';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, FUSED_RELU6_GRAD, batchNormTrain } from './onednn';
import { ReLU } from '../../layers/relu';

/**
 * Batch norm, ReLU(6) and depthwise convolution — what a MobileNet trains through — against the
 * stock cpu back end, on every kernel set this machine has.
 */
const MODES = ['wasm', ...(loadOnednn().ok ? ['wasm+onednn'] : [])] as const;
const TOLERANCE = 1e-4;

function seeded(seed: number, n: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return actual.length === expected.length ? diff / Math.max(scale, 1e-6) : Infinity;
}

/** A MobileNetV2 block in miniature: expand, depthwise, project, residual; Keras's layer types. */
function mobileBlock(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 8] });
  const relu6 = () => new ReLU({ maxValue: 6 }) as tf.layers.Layer;
  const bn = () => new BatchNormalization({ epsilon: 1e-3, momentum: 0.9 }) as tf.layers.Layer;
  let h = tf.layers.conv2d({ filters: 24, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
  h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  h = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false })
    .apply(h) as tf.SymbolicTensor;
  h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(h) as tf.SymbolicTensor;
  h = bn().apply(h) as tf.SymbolicTensor;
  h = tf.layers.add().apply([input, h]) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5 }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seeded(100 + i, w.size, 0.8), w.shape)));
  return model;
}

describe.each(MODES)('%s: batch norm, ReLU(6) and depthwise training conform to the cpu back end', (mode) => {
  beforeAll(async () => {
    expect((await selectBackend({ requested: mode, env: {} })).id).toBe(mode);
  });

  it.each([
    { shape: [2, 6, 5, 40], scale: true, offset: true },
    { shape: [3, 70, 130], scale: false, offset: true },
    { shape: [1, 4, 4, 3], scale: true, offset: false },
  ])('FusedBatchNorm (inference) $shape scale $scale offset $offset', async ({ shape, scale, offset }) => {
    const outs: Float32Array[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const c = shape.at(-1)!;
      const x = tf.tensor(
        seeded(
          1,
          shape.reduce((a, b) => a * b, 1),
          3,
        ),
        shape,
      );
      const mean = tf.tensor1d(seeded(2, c));
      const variance = tf.tensor1d(seeded(3, c).map((v) => v * v + 0.1));
      const s = scale ? tf.tensor1d(seeded(4, c)) : undefined;
      const o = offset ? tf.tensor1d(seeded(5, c)) : undefined;
      resetFallbacks();
      const y = tf.batchNorm(x, mean, variance, o, s, 1e-3);
      outs.push((await y.data()) as Float32Array);
      // With the addon, the call ran in it: the patch hands nothing back to the stock kernel.
      if (backend === 'wasm')
        expect(fallbackCounts().filter((f) => f.kernel === 'FusedBatchNorm')).toEqual([]);
      tf.dispose([x, mean, variance, y, ...(s ? [s] : []), ...(o ? [o] : [])]);
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(relativeError(outs[0]!, outs[1]!)).toBeLessThanOrEqual(TOLERANCE);
  });

  // Stock wasm's clip and relu6 (XNNPACK) turn NaN into 0 and −0 into +0; the addon's loops do as cpu does.
  it.each([
    { kernel: 'ClipByValue', op: (t: tf.Tensor) => tf.clipByValue(t, 0, 6), seed: 7 },
    { kernel: 'Relu6', op: (t: tf.Tensor) => tf.relu6(t), seed: 17 },
  ])(
    '$kernel and its gradient match the cpu back end to the bit, NaN, ±0 and the bounds included',
    async ({ op, seed }) => {
      const results: { y: number[]; dx: number[] }[] = [];
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        const values = seeded(seed, 40_000, 9);
        values.set([NaN, 0, 6, -0, Infinity, -Infinity, 6.000001, -1e-9], 0);
        const x = tf.tensor1d(values);
        const dy = tf.tensor1d(seeded(seed + 1, values.length));
        const y = op(x);
        const dx = tf.grad(op)(x, dy);
        results.push({ y: Array.from(await y.data()), dx: Array.from(await dx.data()) });
        tf.dispose([x, dy, y, dx]);
        expect(tf.memory().numTensors).toBe(before);
      }
      const special = 8;
      if (mode === 'wasm+onednn') expect(results[0]!.y).toEqual(results[1]!.y);
      else expect(results[0]!.y.slice(special)).toEqual(results[1]!.y.slice(special));
      expect(results[0]!.dx).toEqual(results[1]!.dx);
    },
  );

  it("the ReLU layer with maxValue 6 runs as Relu6, with the stock layer's values and gradients", async () => {
    const x = tf.tensor1d(seeded(19, 4_000, 9));
    const dy = tf.tensor1d(seeded(20, 4_000));
    const ours = new ReLU({ maxValue: 6 }) as tf.layers.Layer;
    const stock = (t: tf.Tensor) => tf.clipByValue(tf.relu(t), 0, 6);
    const profile = await tf.profile(() => tf.dispose(ours.apply(x) as tf.Tensor));
    expect(profile.kernelNames).toEqual(['Relu6']);
    const [yOurs, yStock] = [ours.apply(x) as tf.Tensor, stock(x)];
    const gOurs = tf.grad((t: tf.Tensor) => ours.apply(t) as tf.Tensor)(x, dy);
    const gStock = tf.grad(stock)(x, dy);
    expect(Array.from(await yOurs.data())).toEqual(Array.from(await yStock.data()));
    // Equal as numbers: only the sign of a zero may differ where x > 6.
    const [a, b] = [await gOurs.data(), await gStock.data()];
    expect(Array.from(a, (v, i) => v === b[i])).not.toContain(false);
    // Another cap keeps the stock code.
    const capped = new ReLU({ maxValue: 3 }) as tf.layers.Layer;
    expect((await tf.profile(() => tf.dispose(capped.apply(x) as tf.Tensor))).kernelNames).toEqual([
      'Relu',
      'ClipByValue',
    ]);
    tf.dispose([x, dy, yOurs, yStock, gOurs, gStock]);
  });

  it('a MobileNetV2 block: training gradients and moving statistics match cpu; with oneDNN the fused kernels run and nothing falls back to cpu', async () => {
    const runs: { grads: Float32Array[]; moving: Float32Array[]; kernels: string[] }[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const model = mobileBlock();
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(seeded(9, 4 * 12 * 12 * 8, 2), [4, 12, 12, 8]);
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 4, 1], 'int32'), 5));
      resetFallbacks();
      let grads: Record<string, tf.Tensor> = {};
      const profile = await tf.profile(() => {
        const result = tf.variableGrads(
          () =>
            tf.losses.softmaxCrossEntropy(
              labels,
              model.apply(x, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
        );
        result.value.dispose();
        grads = result.grads;
      });
      const cpuFallbacks = fallbackCounts().filter((f) => f.via === 'cpu');
      if (backend === 'wasm' && mode === 'wasm+onednn') expect(cpuFallbacks).toEqual([]);
      const names = Object.keys(grads).sort();
      runs.push({
        grads: await Promise.all(names.map(async (n) => (await grads[n]!.data()) as Float32Array)),
        moving: await Promise.all(
          model.weights
            .filter((w) => w.name.includes('moving'))
            .map(async (w) => (await w.read().data()) as Float32Array),
        ),
        kernels: profile.kernelNames,
      });
      tf.dispose([x, labels, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
    const [ours, cpu] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(ours.grads.length).toBe(cpu.grads.length);
    ours.grads.forEach((g, i) => expect(relativeError(g, cpu.grads[i]!)).toBeLessThanOrEqual(TOLERANCE));
    expect(ours.moving.length).toBe(6);
    ours.moving.forEach((m, i) => expect(relativeError(m, cpu.moving[i]!)).toBeLessThanOrEqual(TOLERANCE));
    const fused = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, FUSED_RELU6_GRAD];
    if (mode === 'wasm+onednn') expect(ours.kernels).toEqual(expect.arrayContaining(fused));
    else expect(ours.kernels.filter((k) => fused.includes(k))).toEqual([]);
    expect(cpu.kernels.filter((k) => fused.includes(k))).toEqual([]);
  });

  it('the fused batch norm gives the same bits on 1 thread as on 2 (fixed summation blocks)', async () => {
    const addon = loadOnednn();
    if (mode === 'wasm' || !addon.ok) {
      // Plain wasm has no fused kernel: the layer keeps the stock code.
      const probe = [tf.zeros([2, 3]), tf.ones([3]), tf.zeros([3])] as const;
      expect(batchNormTrain(...probe, 1e-3)).toBeNull();
      tf.dispose([...probe]);
      return;
    }
    await tf.setBackend('wasm');
    const x = tf.tensor4d(seeded(31, 3 * 17 * 13 * 24, 3), [3, 17, 13, 24]);
    const [gamma, beta, dy] = [
      tf.tensor1d(seeded(32, 24)),
      tf.tensor1d(seeded(33, 24)),
      tf.tensor4d(seeded(34, x.size), x.shape),
    ];
    const run = (threads: number) => {
      addon.addon.setThreads(threads);
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(a, g, b, 1e-3)![0])(
        [x, gamma, beta],
        dy,
      );
      const out = tf.tidy(() => batchNormTrain(x, gamma, beta, 1e-3)!.map((t) => t.clone()));
      const values = [...out, ...grads].map((t) => Array.from(t.dataSync()));
      tf.dispose([...out, ...grads]);
      return values;
    };
    const threads = addon.threads;
    try {
      expect(run(1)).toEqual(run(2));
    } finally {
      addon.addon.setThreads(threads);
    }
    tf.dispose([x, gamma, beta, dy]);
  });

  it("the fused batch norm's gradient includes the paths through the batch mean and variance", async () => {
    await tf.setBackend('wasm');
    // A mean about 1,000 × the standard deviation: the one-pass statistics must not lose the variance.
    const x = tf.tensor2d(
      seeded(21, 50 * 6, 2).map((v) => v + 1000),
      [50, 6],
    );
    const gamma = tf.tensor1d(seeded(22, 6));
    const beta = tf.tensor1d(seeded(23, 6));
    const [w, u, v] = [
      tf.tensor2d(seeded(24, 300), [50, 6]),
      tf.tensor1d(seeded(25, 6)),
      tf.tensor1d(seeded(26, 6)),
    ];
    const loss = (bn: (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor[]) =>
      tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const [y, mean, variance] = bn(a, g, b) as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.addN([tf.sum(tf.mul(y, w)), tf.sum(tf.mul(mean, u)), tf.sum(tf.mul(variance, v))]);
      })([x, gamma, beta]);
    const stock = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0]);
      return [tf.batchNorm(a, mean, variance, b, g, 1e-3), mean, variance];
    };
    const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      batchNormTrain(a, g, b, 1e-3) ?? stock(a, g, b);
    const before = tf.memory().numTensors;
    const ours = loss(fused);
    const reference = loss(stock);
    for (let i = 0; i < 3; i++)
      expect(relativeError(await ours[i]!.data(), await reference[i]!.data())).toBeLessThanOrEqual(TOLERANCE);
    tf.dispose([...ours, ...reference]);
    expect(tf.memory().numTensors).toBe(before);
    const direct = batchNormTrain(x, gamma, beta, 1e-3);
    expect(direct === null).toBe(mode === 'wasm');
    tf.dispose([x, gamma, beta, w, u, v, ...(direct ?? [])]);
  });
});

it('a deserialised model gets the fused BatchNormalization, with its configuration', () => {
  const model = tf.sequential({
    layers: [tf.layers.batchNormalization({ inputShape: [4, 4, 3], momentum: 0.95, epsilon: 1e-4 })],
  });
  const copy = tf.models.modelFromJSON({ modelTopology: model.toJSON(undefined, false) } as tf.io.ModelJSON);
  return copy.then((m) => {
    expect(m.layers[0]).toBeInstanceOf(BatchNormalization);
    expect(m.layers[0]!.getConfig()).toMatchObject({ momentum: 0.95, epsilon: 1e-4 });
    m.dispose();
    model.dispose();
  });
});
