import * as tf from '@tensorflow/tfjs';
import { partMasks, selectBackend } from '@transplant/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FilterAssignment } from './filter-assignment';
import {
  handBuiltFilterGradient,
  handBuiltFilterLossProbe,
  mutualInformationLoss,
  positiveTemplates,
  templateTau,
} from './filter-loss';
import { relaxedBeta } from './beta-update';
import { PartMask } from '@transplant/core';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

/** −MI(X; T) of one filter's maps (each `cells` long), straight from docs/methods.md §2.5 in float64. */
function directLoss(maps: number[][], h: number, w: number): number {
  const cells = h * w;
  const t = positiveTemplates(h, w);
  const templates = [
    ...Array.from({ length: cells }, (_, mu) => Array.from(t.subarray(mu * cells, (mu + 1) * cells))),
    Array(cells).fill(-templateTau(cells)),
  ];
  const prior = 1 / templates.length;
  const tr = (x: number[], T: number[]) => x.reduce((s, v, i) => s + v * T[i]!, 0);
  const z = templates.map((T) => maps.reduce((s, x) => s + Math.exp(tr(x, T)), 0));
  const pxT = (x: number[], k: number) => Math.exp(tr(x, templates[k]!)) / z[k]!;
  const px = (x: number[]) => templates.reduce((s, _, k) => s + prior * pxT(x, k), 0);
  let mi = 0;
  templates.forEach((_, k) => maps.forEach((x) => (mi += prior * pxT(x, k) * Math.log(pxT(x, k) / px(x)))));
  return -mi;
}

describe('filter loss', () => {
  it('positive templates peak at τ on their cell and fall off with the L1 distance, floored at −τ', () => {
    const t = positiveTemplates(3, 3);
    const tau = templateTau(9);
    expect(t[4 * 9 + 4]).toBeCloseTo(tau, 9); // centre template at the centre
    expect(t[0 * 9 + 8]).toBeCloseTo(tau * Math.max(1 - (4 * 4) / 3, -1), 9); // corner to corner: floored
    expect(t[0 * 9 + 1]).toBeCloseTo(tau * (1 - 4 / 3), 9);
  });

  it('the exact loss equals a direct computation of −MI(X; T) on a tiny batch, per filter averaged', () => {
    const [b, h, w, c] = [3, 2, 2, 2];
    const values = Array.from({ length: b * h * w * c }, (_, i) => ((i * 37) % 11) * 30);
    const x = tf.tensor4d(values, [b, h, w, c]);
    const loss = mutualInformationLoss(x);
    const perFilter = Array.from({ length: c }, (_, f) =>
      directLoss(
        Array.from({ length: b }, (_, i) =>
          Array.from({ length: h * w }, (_, p) => values[(i * h * w + p) * c + f]!),
        ),
        h,
        w,
      ),
    );
    expect(loss.dataSync()[0]).toBeCloseTo((perFilter[0]! + perFilter[1]!) / 2, 4);
    // Its autodiff gradient matches finite differences.
    const g = tf
      .grad((t: tf.Tensor) => mutualInformationLoss(t as tf.Tensor4D))(x)
      .dataSync();
    const eps = 0.5;
    for (const i of [0, 5, 13]) {
      const up = values.slice();
      const down = values.slice();
      up[i]! += eps;
      down[i]! -= eps;
      const numeric =
        (mutualInformationLoss(tf.tensor4d(up, [b, h, w, c])).dataSync()[0]! -
          mutualInformationLoss(tf.tensor4d(down, [b, h, w, c])).dataSync()[0]!) /
        (2 * eps);
      expect(g[i]).toBeCloseTo(numeric, 4);
    }
  });

  it('the hand-built gradient follows the authors’ formulas: −w⁺ĝ⁺M on positives, +w⁻ĝ⁻ on negatives', () => {
    const [b, h, w] = [2, 3, 3];
    const values = [0, 1, 0, 0, 3, 1, 0, 0, 0, /* image 1 */ 1, 0, 0, 0, 0, 0, 0, 2, 1];
    const x = tf.tensor4d(values, [b, h, w, 1]);
    const beta = tf.tensor1d([2]);
    const positives = tf.tensor2d([1, 0], [2, 1]);
    const g = handBuiltFilterGradient(x, {
      beta,
      mode: 'argmax',
      positives,
      positiveWeights: tf.ones([1]),
      negativeWeights: tf.ones([1]),
      epoch: 2,
      strength: 1,
    });
    const mask = partMasks(x, beta, 'argmax').dataSync();
    const a = 0.5;
    const mag = 20;
    // One positive (image 0) and one negative (image 1): each ĝ is its g over the mean of that one g, i.e. 1/mag.
    const got = g.dataSync();
    for (let p = 0; p < 9; p++) {
      expect(got[p]).toBeCloseTo((-1 / mag) * mask[p]!, 6);
      expect(got[9 + p]).toBeCloseTo(1 / mag, 6);
    }
    // With two positives, ĝ⁺ is g⁺ normalised by the positives' mean g⁺.
    const both = tf.tensor2d([1, 1], [2, 1]);
    const g2 = handBuiltFilterGradient(x, {
      beta,
      mode: 'argmax',
      positives: both,
      positiveWeights: tf.ones([1]),
      negativeWeights: tf.ones([1]),
      epoch: 1,
      strength: 1,
    }).dataSync();
    const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
    const s = [0, 1].map((i) =>
      mean(Array.from({ length: 9 }, (_, p) => values[i * 9 + p]! * mask[i * 9 + p]!)),
    );
    // M' pairs image 0 with image 1's mask and vice versa (one channel: the channel flip is the identity).
    const cross = [0, 1].map((i) =>
      mean(Array.from({ length: 9 }, (_, p) => values[i * 9 + p]! * mask[(1 - i) * 9 + p]!)),
    );
    const L = a * Math.log(mean(cross.map((v) => Math.exp(v / a))));
    const gp = s.map((v) => Math.exp(v / a) * (v - L + a));
    const hat = gp.map((v) => v / (mean(gp) * 10));
    for (let i = 0; i < 2; i++)
      for (let p = 0; p < 9; p++) expect(g2[i * 9 + p]).toBeCloseTo(-hat[i]! * mask[i * 9 + p]!, 5);
    tf.dispose([x, beta, positives, both, g]);
  });

  it('the probe leaves the forward pass alone and adds the hand-built term to dL/dx', () => {
    const x = tf.tensor4d([0, 1, 0, 0, 3, 1, 0, 0, 0], [1, 3, 3, 1]);
    const o = {
      beta: tf.tensor1d([2]),
      mode: 'argmax' as const,
      positives: tf.tensor2d([1], [1, 1]),
      positiveWeights: tf.ones([1]) as tf.Tensor1D,
      negativeWeights: tf.ones([1]) as tf.Tensor1D,
      epoch: 1,
      strength: 0.5,
    };
    const probe = handBuiltFilterLossProbe(o);
    const weights = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const withTap = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(probe(t as tf.Tensor4D), weights)))(x);
    const extra = handBuiltFilterGradient(x, o);
    expect(tf.max(tf.abs(tf.sub(withTap, tf.add(weights, extra)))).dataSync()[0]).toBeLessThan(1e-6);
    expect(Array.from(probe(x).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('β relaxes toward 3/σ̄ (σ̄ in 14-cell units), clamped to [1.5, 3]; filters without positive activation keep β', () => {
    const layer = new PartMask({ name: 'm', mode: 'argmax' });
    layer.apply(tf.input({ shape: [15, 15, 2] }));
    // Channel 0: one active cell (σ̄ = 0 → target 3). Channel 1: silent (keeps 2).
    const values = new Float32Array(15 * 15 * 2);
    values[(7 * 15 + 7) * 2] = 1;
    const x = tf.tensor4d(values, [1, 15, 15, 2]);
    const next = relaxedBeta(layer, x, tf.tensor2d([1, 1], [1, 2])).dataSync();
    expect(next[0]).toBeCloseTo(2 + 0.1 * (3 - 2), 5);
    expect(next[1]).toBeCloseTo(2, 6);
  });

  it('multi-category: filters go to the class where their running peak activation is largest, weighted 0.5/ρ and 0.5/(1−ρ)', () => {
    const a = new FilterAssignment(2, 2, [0.25, 0.25]);
    // Image 0 (class 1) fires filter 1; image 1 (class 0) fires filter 0.
    const x = tf.tensor4d([0, 5, 0, 0, /* image 1 */ 4, 0, 0, 0], [2, 1, 2, 2]);
    a.update(x, [1, 0]);
    expect(a.assignment()).toEqual([0, 1]);
    expect(Array.from(a.positives([1, 0, -1]).dataSync())).toEqual([0, 1, 1, 0, 0, 0]);
    const { positive, negative } = a.weights();
    expect(Array.from(positive.dataSync())).toEqual([2, 2]);
    expect(negative.dataSync()[0]).toBeCloseTo(0.5 / 0.75, 6);
    // Every filter prefers class 0; a class takes at most ⌈3/2⌉ = 2, the strongest preferences first.
    const capped = new FilterAssignment(2, 3, [0.5, 0.5]);
    capped.update(tf.tensor4d([9, 5, 7, /* class-1 image */ 1, 1, 1], [2, 1, 1, 3]), [0, 1]);
    expect(capped.assignment()).toEqual([0, 1, 0]);
  });
});
