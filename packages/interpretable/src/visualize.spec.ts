import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { Rng } from '@transplant/data';
import {
  applyWarp,
  colourSquareRoot,
  fourierBasis,
  randomWarp,
  visualizeUnits,
  type LayerForward,
} from './visualize';

const SIZE = 16;
const K = 5;

/**
 * Filter 0: a diagonal luminance grating (period 4 px, no zero weight, zero mean as an edge detector’s);
 * filter 1: a red-centre, blue-surround blob.
 */
function plantedKernels(): Float32Array[] {
  const grating = new Float32Array(K * K * 3);
  const blob = new Float32Array(K * K * 3);
  for (let y = 0; y < K; y++)
    for (let x = 0; x < K; x++) {
      const g = Math.cos((2 * Math.PI * (x + y)) / 4 + Math.PI / 4);
      const r2 = (x - 2) ** 2 + (y - 2) ** 2;
      const centre = Math.exp(-r2 / 2);
      for (let c = 0; c < 3; c++) {
        grating[(y * K + x) * 3 + c] = g;
        blob[(y * K + x) * 3 + c] = c === 0 ? centre - 0.3 : c === 2 ? 0.3 - centre : 0;
      }
    }
  const mean = grating.reduce((s, v) => s + v, 0) / grating.length;
  return [grating.map((v) => v - mean), blob];
}

/** A one-layer network whose conv kernel is the planted patterns, [K, K, 3, 2], relu. */
function plantedModel(patterns: Float32Array[]): tf.LayersModel {
  const kernel = new Float32Array(K * K * 3 * patterns.length);
  patterns.forEach((p, f) => p.forEach((v, i) => (kernel[i * patterns.length + f] = v)));
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const conv = tf.layers.conv2d({
    filters: patterns.length,
    kernelSize: K,
    useBias: false,
    activation: 'relu',
  });
  const model = tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
  const w = tf.tensor4d(kernel, [K, K, 3, patterns.length]);
  conv.setWeights([w]);
  w.dispose();
  return model;
}

/** Pearson correlation of an image's K×K×3 patch at (row, col) with a pattern. */
function patchCorrelation(rgb: ArrayLike<number>, row: number, col: number, pattern: Float32Array): number {
  const patch: number[] = [];
  for (let y = 0; y < K; y++)
    for (let x = 0; x < K; x++)
      for (let c = 0; c < 3; c++) patch.push(rgb[((row + y) * SIZE + col + x) * 3 + c]!);
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
  const mp = mean(patch);
  const mk = mean(pattern);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  patch.forEach((v, i) => {
    sxy += (v - mp) * (pattern[i]! - mk);
    sxx += (v - mp) ** 2;
    syy += (pattern[i]! - mk) ** 2;
  });
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** The best correlation over every patch position (for a unit maximized over the whole map). */
const bestCorrelation = (rgb: ArrayLike<number>, pattern: Float32Array) =>
  Math.max(
    ...Array.from({ length: (SIZE - K + 1) ** 2 }, (_, i) =>
      patchCorrelation(rgb, Math.floor(i / (SIZE - K + 1)), i % (SIZE - K + 1), pattern),
    ),
  );

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

describe('visualizeUnits', () => {
  it('recovers a planted filter: the optimized image correlates with the kernel at its receptive field', () => {
    const patterns = plantedKernels();
    const model = plantedModel(patterns);
    const forward: LayerForward = (x) => model.apply(x, { training: false }) as tf.Tensor4D;
    const tensors = tf.memory().numTensors;
    // Each filter four times in one batch (four random starts), at the map's centre cell (6, 6):
    // its receptive field is image rows and columns 6…10.
    const starts = 4;
    const units = [0, 1].flatMap((f) =>
      Array.from({ length: starts }, (_, s) => ({
        label: `filter ${f} start ${s}`,
        channels: [f],
        cell: [6, 6] as const,
      })),
    );
    const result = visualizeUnits(forward, units, { size: SIZE, steps: 128, seed: 'planted' });
    expect(tf.memory().numTensors).toBe(tensors);
    const rng = new Rng('random image');
    const random = Array.from({ length: SIZE * SIZE * 3 }, () => rng.next());
    const median = (v: number[]) => {
      const sorted = [...v].sort((a, b) => a - b);
      return (sorted[Math.floor((v.length - 1) / 2)]! + sorted[Math.floor(v.length / 2)]!) / 2;
    };
    for (let f = 0; f < 2; f++) {
      const images = result.units.slice(f * starts, (f + 1) * starts);
      const own = images.map((u) => patchCorrelation(u.rgb, 6, 6, patterns[f]!));
      const crossed = images.map((u) => patchCorrelation(u.rgb, 6, 6, patterns[1 - f]!));
      const chance = Math.abs(patchCorrelation(random, 6, 6, patterns[f]!));
      // Three starts of four find the pattern (one may end in a weaker local optimum).
      expect(own.filter((v) => v > 0.8).length).toBeGreaterThanOrEqual(3);
      expect(median(own) - chance).toBeGreaterThan(0.4);
      expect(median(own) - median(crossed.map(Math.abs))).toBeGreaterThan(0.4);
      // A start on which the ReLU is off at the cell gets no gradient and stays (0 → 0); the others rise.
      for (const u of images) expect(u.activation).toBeGreaterThanOrEqual(u.initialActivation);
      expect(images.filter((u) => u.activation > u.initialActivation).length).toBeGreaterThanOrEqual(3);
    }
    expect(result.msPerUnit).toBeGreaterThan(0);
    model.dispose();
  });

  it('maximizes a filter over its whole map: the grating appears somewhere in the image', () => {
    const patterns = plantedKernels();
    const model = plantedModel(patterns);
    const forward: LayerForward = (x) => model.apply(x, { training: false }) as tf.Tensor4D;
    const result = visualizeUnits(forward, [{ label: 'grating', channels: [0] }], {
      size: SIZE,
      steps: 96,
      seed: 'mean',
    });
    expect(bestCorrelation(result.units[0]!.rgb, patterns[0]!)).toBeGreaterThan(0.8);
    model.dispose();
  });

  it('refuses units the layer does not have, and leaves no tensor behind', () => {
    const model = plantedModel(plantedKernels());
    const forward: LayerForward = (x) => model.apply(x, { training: false }) as tf.Tensor4D;
    const tensors = tf.memory().numTensors;
    expect(() => visualizeUnits(forward, [{ label: 'filter 2', channels: [2] }], { size: SIZE })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARGUMENT', message: expect.stringMatching(/filters 0…1/) }),
    );
    expect(() =>
      visualizeUnits(forward, [{ label: 'n', channels: [0], cell: [30, 0] }], { size: SIZE }),
    ).toThrow(/outside the 12×12 map/);
    expect(() => visualizeUnits(forward, [], { size: SIZE })).toThrow(/no unit/);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });
});

describe('fourierBasis and colourSquareRoot', () => {
  it('builds an orthonormal basis', () => {
    for (const size of [7, 8]) {
      const { basis } = fourierBasis(size);
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) {
          let dot = 0;
          for (let y = 0; y < size; y++) dot += basis[y * size + i]! * basis[y * size + j]!;
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
        }
    }
  });

  it('squares back to the colour covariance (up to its normalization)', () => {
    const rng = new Rng('colours');
    // Correlated colours: green follows red, blue independent and weaker.
    const rgb = new Uint8Array(3 * 500);
    for (let p = 0; p < 500; p++) {
      const r = rng.next();
      rgb[p * 3] = Math.round(255 * r);
      rgb[p * 3 + 1] = Math.round(255 * (0.8 * r + 0.2 * rng.next()));
      rgb[p * 3 + 2] = Math.round(255 * 0.5 * rng.next());
    }
    const root = colourSquareRoot([{ rgb }]);
    const product = (i: number, j: number) =>
      [0, 1, 2].reduce((s, k) => s + root[i * 3 + k]! * root[j * 3 + k]!, 0);
    // Red and green correlate strongly, blue with neither.
    const corr = (i: number, j: number) => product(i, j) / Math.sqrt(product(i, i) * product(j, j));
    expect(corr(0, 1)).toBeGreaterThan(0.9);
    expect(Math.abs(corr(0, 2))).toBeLessThan(0.15);
    expect(root[1]).toBeCloseTo(root[3]!, 6);
  });
});

describe('the random view (applyWarp) and the regularizers', () => {
  const S = 8;
  const images = () =>
    tf.tensor4d(
      Float32Array.from({ length: 2 * S * S * 3 }, (_, i) => Math.sin(i * 0.37) + 0.1 * (i % 7)),
      [2, S, S, 3],
    );

  it('an identity view gives the images back; a turned one moves them', () => {
    const x = images();
    const still = randomWarp(new Rng('w'), 2, S, { jitter: 0, scale: 0, rotate: 0 });
    const y = applyWarp(x, still);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    const turned = randomWarp(new Rng('w'), 2, S, { jitter: 1, scale: 0.1, rotate: 10 });
    const z = applyWarp(x, turned);
    expect(tf.max(tf.abs(tf.sub(z, x))).dataSync()[0]).toBeGreaterThan(0.1);
    tf.dispose([x, y, z, ...still.indices, ...still.weights, ...turned.indices, ...turned.weights]);
  });

  it('its gradient is the transpose of the resampling: it matches finite differences', () => {
    const x = images();
    const warp = randomWarp(new Rng('grad'), 2, S, { jitter: 1, scale: 0.1, rotate: 10 });
    // A fixed random read-out of the warped images, so every output pixel counts differently.
    const rng = new Rng('readout');
    const r = tf.tensor4d(
      Float32Array.from({ length: 2 * S * S * 3 }, () => rng.normal(0, 1)),
      [2, S, S, 3],
    );
    const f = (v: tf.Tensor) => tf.sum(tf.mul(applyWarp(v as tf.Tensor4D, warp), r)) as tf.Scalar;
    const g = tf.grad(f)(x);
    const analytic = g.dataSync();
    const base = x.dataSync();
    const eps = 1e-2;
    let worst = 0;
    for (const i of [0, 5, 17, 63, 100, 200, 300, 383]) {
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[i]! += eps;
      minus[i]! -= eps;
      const [fp, fm] = [plus, minus].map((d) =>
        tf.tidy(() => f(tf.tensor4d(d, [2, S, S, 3])).dataSync()[0]!),
      );
      worst = Math.max(worst, Math.abs((fp! - fm!) / (2 * eps) - analytic[i]!));
    }
    // The map is linear in the pixels: central differences are exact up to float32 rounding.
    expect(worst).toBeLessThan(2e-3);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0.1);
    tf.dispose([x, r, g, ...warp.indices, ...warp.weights]);
  });

  /** The images' mean squared difference between neighbours, and their share of energy above a quarter of the sampling rate. */
  function roughness(rgb: Uint8Array, size: number): { tv: number; high: number } {
    let tv = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x + 1 < size; x++)
          tv += ((rgb[(y * size + x + 1) * 3 + c]! - rgb[(y * size + x) * 3 + c]!) / 255) ** 2;
    const { basis, frequency } = fourierBasis(size);
    let high = 0;
    let all = 0;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) {
          let coefficient = 0;
          for (let y = 0; y < size; y++)
            for (let x = 0; x < size; x++)
              coefficient +=
                basis[y * size + i]! * basis[x * size + j]! * (rgb[(y * size + x) * 3 + c]! / 255);
          if (i + j === 0) continue;
          all += coefficient ** 2;
          if (Math.hypot(frequency[i]!, frequency[j]!) > 0.25) high += coefficient ** 2;
        }
    return { tv, high: high / all };
  }

  it('the total-variation penalty and the spectrum decay make smoother images', () => {
    const model = plantedModel(plantedKernels());
    const forward: LayerForward = (x) => model.apply(x, { training: false }) as tf.Tensor4D;
    const units = [0, 1].map((f) => ({ label: `filter ${f}`, channels: [f] }));
    const run = (o: { tv: number; decay: number }) =>
      visualizeUnits(forward, units, { size: SIZE, steps: 48, seed: 'smooth', ...o }).units.map((u) =>
        roughness(u.rgb, SIZE),
      );
    const plain = run({ tv: 0, decay: 0 });
    const tv = run({ tv: 0.2, decay: 0 });
    const decayed = run({ tv: 0, decay: 1 });
    for (let k = 0; k < 2; k++) {
      expect(tv[k]!.tv).toBeLessThan(0.7 * plain[k]!.tv);
      expect(decayed[k]!.high).toBeLessThan(0.7 * plain[k]!.high);
    }
    model.dispose();
  });
});
