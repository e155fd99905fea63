import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@transplant/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Explainer, unitRms } from './explainer';
import { TRAINING_DEFAULTS, trainExplainer, type FeaturePool } from './train';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
};

describe('explainer fusion and accounting', () => {
  it('fuses the two tracks at unit RMS each with the learned p', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 6, mask: 'argmax', seed: 3, p0: 0.7 });
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    tf.tidy(() => {
      const f = ex.forward(x);
      expect(f.p.dataSync()[0]).toBeCloseTo(0.7, 6);
      const rms = tf.sqrt(tf.mean(tf.square(unitRms(f.ordinary)), [1, 2, 3])).dataSync();
      close(rms, [1, 1]);
      const expected = tf.add(tf.mul(0.7, unitRms(f.interpretable)), tf.mul(0.3, unitRms(f.ordinary)));
      close(f.fused.dataSync(), expected.dataSync());
      expect(f.reconstruction.shape).toEqual([2, 4, 4, 5]);
    });
    x.dispose();
    ex.dispose();
  });

  it('splits the decoder’s input into per-filter shares that sum to 1 and match a filter-by-filter convolution', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 5, p0: 0.6 });
    const x = tf.randomUniform([3, 4, 4, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const shares = ex.contributions(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(shares.shape).toEqual([3, 8]);
    close(
      tf.tidy(() => tf.sum(shares, 1).dataSync()),
      [1, 1, 1],
    );
    // Direct: filter f's term is the decoder kernel's slice f convolved with that channel alone.
    const direct = tf.tidy(() => {
      const f = ex.forward(x);
      const kernel = ex.decoder.layers[0]!.getWeights()[0]! as tf.Tensor4D;
      const codes = [
        tf.mul(f.p, unitRms(f.interpretable)),
        tf.mul(tf.sub(1, f.p), unitRms(f.ordinary)),
      ] as tf.Tensor4D[];
      const mags = codes.flatMap((code) =>
        Array.from({ length: 4 }, (_, k) =>
          tf.sum(
            tf.abs(
              tf.conv2d(
                tf.slice(code, [0, 0, 0, k], [-1, -1, -1, 1]),
                tf.slice(kernel, [0, 0, k, 0], [-1, -1, 1, -1]) as tf.Tensor4D,
                1,
                'same',
              ),
            ),
            [1, 2, 3],
          ),
        ),
      );
      const all = tf.stack(mags, 1);
      return tf.div(all, tf.sum(all, 1, true)).dataSync();
    });
    close(shares.dataSync(), direct, 1e-4);
    tf.dispose([x, shares]);
    ex.dispose();
  });

  it('splits the decision (first order) into per-filter shares that sum to 1', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 6, p0: 0.6 });
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    // A linear "logit": the sum of y, so the gradient is 1 wherever the decoder's ReLU passes.
    const upper = (y: tf.Tensor4D) => tf.sum(y, [1, 2, 3]);
    const before = tf.memory().numTensors;
    const shares = ex.decisionContributions(x, upper);
    expect(tf.memory().numTensors).toBe(before + 1);
    close(
      tf.tidy(() => tf.sum(shares, 1).dataSync()),
      [1, 1],
    );
    const direct = tf.tidy(() => {
      const f = ex.forward(x);
      const passed = tf.cast(tf.greater(f.reconstruction, 0), 'float32');
      const kernel = ex.decoder.layers[0]!.getWeights()[0]! as tf.Tensor4D;
      const codes = [
        tf.mul(f.p, unitRms(f.interpretable)),
        tf.mul(tf.sub(1, f.p), unitRms(f.ordinary)),
      ] as tf.Tensor4D[];
      const terms = codes.flatMap((code) =>
        Array.from({ length: 4 }, (_, k) =>
          tf.abs(
            tf.sum(
              tf.mul(
                passed,
                tf.conv2d(
                  tf.slice(code, [0, 0, 0, k], [-1, -1, -1, 1]),
                  tf.slice(kernel, [0, 0, k, 0], [-1, -1, 1, -1]) as tf.Tensor4D,
                  1,
                  'same',
                ),
              ),
              [1, 2, 3],
            ),
          ),
        ),
      );
      const all = tf.stack(terms, 1);
      return tf.div(all, tf.sum(all, 1, true)).dataSync();
    });
    close(shares.dataSync(), direct, 1e-4);
    tf.dispose([x, shares]);
    ex.dispose();
  });

  it('trains without labels and without leaking tensors: the reconstruction improves, p and β move', () => {
    const ex = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 7, p0: 0.5 });
    const x = tf.randomUniform([24, 4, 4, 6], 0, 1, 'float32', 4) as tf.Tensor4D;
    // A higher layer the explainer can learn: a fixed random 3×3 conv + ReLU of x.
    const y = tf.tidy(() =>
      tf.relu(tf.conv2d(x, tf.randomNormal([3, 3, 6, 5], 0, 0.3, 'float32', 9) as tf.Tensor4D, 1, 'same')),
    ) as tf.Tensor4D;
    const pool: FeaturePool = { x, y, classes: Array.from({ length: 24 }, (_, i) => (i % 2 ? 0 : -1)) };
    const beta = ex.mask.beta.read().dataSync().slice();
    const before = tf.memory().numTensors;
    const curve = trainExplainer(
      { explainer: ex, pool },
      {
        ...TRAINING_DEFAULTS,
        steps: 150,
        batchSize: 8,
        learningRate: 1e-2,
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(curve.at(-1)!.step).toBe(150);
    expect(curve.at(-1)!.error).toBeLessThan(curve[0]!.error);
    expect(ex.p()).not.toBeCloseTo(0.5, 3);
    expect(Array.from(ex.mask.beta.read().dataSync())).not.toEqual(Array.from(beta));
    tf.dispose([x, y]);
    ex.dispose();
  });

  it('with the decision term, the interpretable track alone learns to give the performer’s logits', () => {
    const x = tf.randomUniform([24, 4, 4, 6], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tidy(() =>
      tf.relu(tf.conv2d(x, tf.randomNormal([3, 3, 6, 5], 0, 0.3, 'float32', 10) as tf.Tensor4D, 1, 'same')),
    ) as tf.Tensor4D;
    const upper = (t: tf.Tensor4D) => tf.reshape(tf.mean(t, [1, 2, 3]), [-1, 1]);
    const logits = upper(y) as tf.Tensor2D;
    const pool: FeaturePool = {
      x,
      y,
      logits,
      classes: Array.from({ length: 24 }, (_, i) => (i % 2 ? 0 : -1)),
    };
    const gap = (ex: Explainer) =>
      tf.tidy(() => {
        const f = ex.forward(x);
        const alone = ex.decoder.apply(tf.mul(f.p, unitRms(f.interpretable))) as tf.Tensor4D;
        return tf.mean(tf.square(tf.sub(upper(alone), logits))).dataSync()[0]!;
      });
    const results = [0, 5].map((decision) => {
      const ex = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 8, p0: 0.5 });
      const before = tf.memory().numTensors;
      trainExplainer(
        { explainer: ex, pool, upper },
        { ...TRAINING_DEFAULTS, steps: 150, batchSize: 8, learningRate: 1e-2, decision },
      );
      expect(tf.memory().numTensors).toBe(before);
      const g = gap(ex);
      ex.dispose();
      return g;
    });
    expect(results[1]).toBeLessThan(results[0]!);
    const unused = new Explainer([4, 4, 6], [4, 4, 5]);
    expect(() =>
      trainExplainer(
        { explainer: unused, pool: { x, y, classes: pool.classes } },
        { ...TRAINING_DEFAULTS, steps: 1, decision: 1 },
      ),
    ).toThrow(/decision term needs/);
    unused.dispose();
    tf.dispose([x, y, logits]);
  });
});
