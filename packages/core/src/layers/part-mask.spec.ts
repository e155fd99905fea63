import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { PartMask, applyPartMask, maskCoordinates, partLocations, partMasks } from './part-mask';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

/** A [1, 4, 4, 1] map with values given row by row. */
const map = (values: number[]) => tf.tensor4d(values, [1, 4, 4, 1]);

describe('PartMask', () => {
  it('places the mask at the argmax, with the authors’ L1 shape in [−1, 1] coordinates', () => {
    const x = map([0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const m = partMasks(x, tf.tensor1d([2]), 'argmax');
    const u = maskCoordinates(4); // −1, −1/3, 1/3, 1
    const values = m.dataSync();
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        const expected = Math.max(1 - 2 * (Math.abs(u[r]! - u[1]!) + Math.abs(u[c]! - u[2]!)), -1);
        expect(values[r * 4 + c]).toBeCloseTo(expected, 6);
      }
    }
    expect(values[1 * 4 + 2]).toBeCloseTo(1, 6);
    tf.dispose([x, m]);
  });

  it('centroid mode rounds the activation-weighted centre; an empty map gets cell 0', () => {
    // Mass 3 at (0, 0) and 1 at (3, 3): centroid (0.75, 0.75) → cell (1, 1).
    const x = tf.concat(
      [map([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), tf.zeros([1, 4, 4, 1])],
      0,
    ) as tf.Tensor4D;
    const { rows, cols } = partLocations(x, 'centroid');
    expect(Array.from(rows.dataSync())).toEqual([1, 0]);
    expect(Array.from(cols.dataSync())).toEqual([1, 0]);
    const argmax = partLocations(x, 'argmax');
    expect(Array.from(argmax.rows.dataSync())).toEqual([0, 0]);
    tf.dispose([x, rows, cols, argmax.rows, argmax.cols]);
  });

  it('the masked output’s gradient equals finite differences (the mask is a constant of the step)', () => {
    for (const mode of ['argmax', 'centroid'] as const) {
      // Strictly positive, one clear peak; the centroid sits well inside a cell.
      const base = Array.from({ length: 16 }, (_, i) => 0.2 + 0.05 * ((i * 7) % 5));
      base[5] = 4;
      const weights = tf.tensor4d(
        Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)),
        [1, 4, 4, 1],
      );
      const beta = tf.tensor1d([1.5]);
      const f = (x: tf.Tensor) => tf.sum(tf.mul(applyPartMask(x as tf.Tensor4D, beta, mode), weights));
      const x = map(base);
      const analytic = tf.grad(f)(x).dataSync();
      const eps = 1e-2;
      for (let i = 0; i < 16; i++) {
        const plus = base.slice();
        const minus = base.slice();
        plus[i]! += eps;
        minus[i]! -= eps;
        const [fp, fm] = [f(map(plus)).dataSync()[0]!, f(map(minus)).dataSync()[0]!];
        expect(analytic[i]).toBeCloseTo((fp - fm) / (2 * eps), 3);
      }
      tf.dispose([weights, beta, x]);
    }
  });

  it('is a layer with a per-channel β weight that masks in inference too, and calls its probe only in training', () => {
    const layer = new PartMask({ name: 'mask', mode: 'argmax' });
    const input = tf.input({ shape: [4, 4, 3] });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    expect(layer.weights.map((w) => [w.originalName, w.shape, w.trainable])).toEqual([
      ['mask/beta', [3], false],
    ]);
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    let probed = 0;
    layer.probe = (t) => {
      probed++;
      return t;
    };
    const inference = model.predict(x) as tf.Tensor;
    expect(probed).toBe(0);
    const expected = applyPartMask(x, tf.fill([3], 2) as tf.Tensor1D, 'argmax');
    expect(tf.max(tf.abs(tf.sub(inference, expected))).dataSync()[0]).toBeLessThan(1e-6);
    const trained = model.apply(x, { training: true }) as tf.Tensor;
    expect(probed).toBe(1);
    tf.dispose([x, inference, expected, trained]);
  });
});
