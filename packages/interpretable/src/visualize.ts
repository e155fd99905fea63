import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '@transplant/core';
import { Rng } from '@transplant/data';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import { partImages } from './interpret';
import { VISUALIZE_DEFAULTS } from './options';

export { VISUALIZE_DEFAULTS };
import { cellGeometry, findLayer, type LayerRef } from './layer-probe';

/**
 * Feature visualization by activation maximization (docs/visualize.md): one image per unit,
 * optimized together in one batch, parameterized in a colour-decorrelated, frequency-weighted
 * Fourier basis, seen through a random jitter / scale / rotation at every step, with a total
 * variation penalty, by Adam.
 */

/** What one image maximizes: the sum of some channels of a layer, over the map or at one cell. */
export interface VisualUnit {
  /** A caption (`filter 3`, `node 0:12`, `group head`). */
  readonly label: string;
  /** Channels whose activations are summed (one for a filter; a part group's several). */
  readonly channels: readonly number[];
  /**
   * A cell of the map, [row, column], fractional allowed (read bilinearly); without it, the
   * channels' mean over the whole map.
   */
  readonly cell?: readonly [number, number];
}

export interface VisualizeOptions {
  /** The image side in pixels (the network's input side). */
  readonly size: number;
  /** Adam steps (default 256). */
  readonly steps?: number;
  /** Adam's learning rate on the Fourier coefficients (default 0.1). */
  readonly learningRate?: number;
  /** Units optimized at a time, one image each (default 16). */
  readonly batch?: number;
  /** Random shift per step, up to this many pixels each way (default size / 16, at least 1). */
  readonly jitter?: number;
  /** Random scale per step in [1 − scale, 1 + scale] (default 0.1). */
  readonly scale?: number;
  /** Random rotation per step, up to this many degrees each way (default 10). */
  readonly rotate?: number;
  /** Weight of the total-variation penalty, per pixel (default 0.005). */
  readonly tv?: number;
  /** Spectrum decay: a coefficient at frequency f is weighted by (f_min / max(f, f_min))^decay (default 1; 0 = flat, like pixels). */
  readonly decay?: number;
  /**
   * The colour correlation's square root, row-major 3×3 (`colourSquareRoot`): the optimized
   * values are decorrelated colours this maps to RGB. Default: the identity (no decorrelation).
   */
  readonly colour?: readonly number[];
  /**
   * Spread of the random start: the standard deviation of the coefficients, which is that of
   * the pixels before the sigmoid (default 0.5: a visible noise that already excites more units
   * than a flat grey; a unit silent on it may get no gradient at all).
   */
  readonly init?: number;
  readonly seed?: string;
  /** After each step of each batch: the units done before this batch, the step, the mean objective. */
  readonly onStep?: (p: {
    readonly batch: number;
    readonly step: number;
    readonly objective: number;
  }) => void;
}

export interface UnitVisualization {
  readonly unit: VisualUnit;
  /** The optimized image, size × size × 3 bytes, row-major RGB. */
  readonly rgb: Uint8Array;
  /** The unit's objective on the optimized image (no jitter). */
  readonly activation: number;
  /** The objective on the starting image (the parameterization's random start). */
  readonly initialActivation: number;
}

export interface VisualizationResult {
  readonly size: number;
  readonly steps: number;
  readonly batch: number;
  readonly units: UnitVisualization[];
  /** Wall time of the optimization (all batches), and per unit. */
  readonly ms: number;
  readonly msPerUnit: number;
}

/** A layer's feature map as a differentiable function of [B, H, W, 3] images in [0, 1]. */
export type LayerForward = (images: tf.Tensor4D) => tf.Tensor4D;

const invalid = (message: string) =>
  new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'visualize' });

/**
 * The layer of `ref` as a differentiable function of the network's input (`apply`, inference
 * mode, through the modules before it): what `visualizeUnits` takes the gradient of.
 */
export function layerForward(ref: LayerRef): LayerForward {
  const sub = tf.model({
    inputs: ref.module.model.inputs,
    outputs: ref.layer.getOutputAt(0) as tf.SymbolicTensor,
  });
  return (images) => {
    let input: tf.Tensor = images;
    for (const m of ref.before) input = m.model.apply(input, { training: false }) as tf.Tensor;
    return sub.apply(input, { training: false }) as tf.Tensor4D;
  };
}

/**
 * The square root of the RGB covariance of images (values in [0, 1]), symmetric (V·√Λ·Vᵀ),
 * divided by its largest column norm: the colour map of `VisualizeOptions.colour`, so that
 * independent values per decorrelated channel come out with the images' colour correlations.
 */
export function colourSquareRoot(images: readonly { readonly rgb: Uint8Array }[]): number[] {
  const mean = [0, 0, 0];
  const cov = new Float64Array(9);
  let n = 0;
  for (const { rgb } of images) {
    for (let p = 0; p < rgb.length; p += 3) {
      n++;
      for (let c = 0; c < 3; c++) mean[c]! += rgb[p + c]! / 255;
    }
  }
  if (n === 0) throw invalid('colourSquareRoot needs at least one image');
  for (let c = 0; c < 3; c++) mean[c]! /= n;
  for (const { rgb } of images) {
    for (let p = 0; p < rgb.length; p += 3) {
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          cov[i * 3 + j]! += ((rgb[p + i]! / 255 - mean[i]!) * (rgb[p + j]! / 255 - mean[j]!)) / n;
    }
  }
  const { values, vectors } = symmetricEigen3(cov);
  const root = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 3; k++)
        root[i * 3 + j]! += vectors[i * 3 + k]! * Math.sqrt(Math.max(values[k]!, 0)) * vectors[j * 3 + k]!;
  const norm = Math.max(
    ...[0, 1, 2].map((j) => Math.hypot(root[j]!, root[3 + j]!, root[6 + j]!)),
    Number.MIN_VALUE,
  );
  return root.map((v) => v / norm);
}

/** Eigenvalues and eigenvectors (columns, row-major) of a symmetric 3×3 matrix, by Jacobi rotations. */
function symmetricEigen3(m: Float64Array): { values: number[]; vectors: number[] } {
  const a = Array.from(m);
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1]! ** 2 + a[2]! ** 2 + a[5]! ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const apq = a[p * 3 + q]!;
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * 3 + q]! - a[p * 3 + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      // A ← Jᵀ A J, V ← V J, with J the rotation in the (p, q) plane.
      for (let k = 0; k < 3; k++) {
        const akp = a[k * 3 + p]!;
        const akq = a[k * 3 + q]!;
        a[k * 3 + p] = c * akp - s * akq;
        a[k * 3 + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p * 3 + k]!;
        const aqk = a[q * 3 + k]!;
        a[p * 3 + k] = c * apk - s * aqk;
        a[q * 3 + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k * 3 + p]!;
        const vkq = v[k * 3 + q]!;
        v[k * 3 + p] = c * vkp - s * vkq;
        v[k * 3 + q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: [a[0]!, a[4]!, a[8]!], vectors: v };
}

/**
 * An orthonormal real Fourier basis of one axis of `size` samples, [size, size]: column 0 the
 * constant, then a cosine and a sine per frequency k = 1 … ⌈size/2⌉ − 1, and the Nyquist cosine
 * when size is even; and each column's frequency in cycles per pixel.
 */
export function fourierBasis(size: number): { basis: Float32Array; frequency: Float32Array } {
  const basis = new Float32Array(size * size);
  const frequency = new Float32Array(size);
  const set = (column: number, f: (y: number) => number, k: number) => {
    let norm = 0;
    for (let y = 0; y < size; y++) norm += f(y) ** 2;
    norm = Math.sqrt(norm);
    for (let y = 0; y < size; y++) basis[y * size + column] = f(y) / norm;
    frequency[column] = k / size;
  };
  set(0, () => 1, 0);
  let column = 1;
  for (let k = 1; column < size; k++) {
    const w = (2 * Math.PI * k) / size;
    set(column++, (y) => Math.cos(w * y), k);
    if (column < size) set(column++, (y) => Math.sin(w * y), k);
  }
  return { basis, frequency };
}

/** The weight of each 2-D coefficient [size, size]: f_min / max(|f|, f_min), to the power decay. */
function spectrumWeights(frequency: Float32Array, decay: number): Float32Array {
  const size = frequency.length;
  const fmin = 1 / size;
  const weights = new Float32Array(size * size);
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++)
      weights[i * size + j] = (fmin / Math.max(Math.hypot(frequency[i]!, frequency[j]!), fmin)) ** decay;
  return weights;
}

/** One random view per image: the sampling grid of a rotation, scale and shift about the centre. */
export interface Warp {
  /** Flat indices [B·S·S] of the four neighbours in the batch's [B·S·S, 3] pixels. */
  readonly indices: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  /** Their bilinear weights, [B·S·S, 1] each. */
  readonly weights: [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}

/** @internal exported for its tests. */
export function randomWarp(
  rng: Rng,
  batch: number,
  size: number,
  limits: { jitter: number; scale: number; rotate: number },
): Warp {
  const n = batch * size * size;
  const idx = [new Int32Array(n), new Int32Array(n), new Int32Array(n), new Int32Array(n)] as const;
  const wts = [new Float32Array(n), new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
  const centre = (size - 1) / 2;
  const clamp = (v: number) => Math.min(Math.max(v, 0), size - 1);
  for (let b = 0; b < batch; b++) {
    const angle = (rng.uniform(-limits.rotate, limits.rotate) * Math.PI) / 180;
    const s = rng.uniform(1 - limits.scale, 1 + limits.scale);
    const dx = rng.uniform(-limits.jitter, limits.jitter);
    const dy = rng.uniform(-limits.jitter, limits.jitter);
    // Output pixel p reads the source at R(−angle)·(p − centre − shift) / s + centre.
    const cos = Math.cos(angle) / s;
    const sin = Math.sin(angle) / s;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = x - centre - dx;
        const v = y - centre - dy;
        const sx = clamp(cos * u + sin * v + centre);
        const sy = clamp(-sin * u + cos * v + centre);
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const x1 = Math.min(x0 + 1, size - 1);
        const y1 = Math.min(y0 + 1, size - 1);
        const fx = sx - x0;
        const fy = sy - y0;
        const at = (b * size + y) * size + x;
        const base = b * size * size;
        idx[0][at] = base + y0 * size + x0;
        idx[1][at] = base + y0 * size + x1;
        idx[2][at] = base + y1 * size + x0;
        idx[3][at] = base + y1 * size + x1;
        wts[0][at] = (1 - fx) * (1 - fy);
        wts[1][at] = fx * (1 - fy);
        wts[2][at] = (1 - fx) * fy;
        wts[3][at] = fx * fy;
      }
    }
  }
  return {
    indices: idx.map((i) => tf.tensor1d(i, 'int32')) as Warp['indices'],
    weights: wts.map((w) => tf.tensor2d(w, [n, 1])) as Warp['weights'],
  };
}

/**
 * Bilinear resampling of [B, S, S, 3] images on a warp's grid, differentiable: tf.js has no
 * gradient for `tf.image.transform` or `cropAndResize`, and `gather`'s own gradient needs
 * UnsortedSegmentSum, which the wasm back end lacks; so the forward pass gathers the four
 * neighbours and a custom backward pass scatters the output gradient back onto them (the
 * transpose, with `scatterND`, which sums repeated indices).
 */
/** @internal exported for its tests. */
export function applyWarp(images: tf.Tensor4D, warp: Warp): tf.Tensor4D {
  const shape = images.shape;
  const rows = shape[0] * shape[1] * shape[2];
  const resample = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const flat = tf.reshape(inputs[0] as tf.Tensor, [rows, 3]);
    const value = tf.reshape(
      tf.addN(warp.indices.map((i, k) => tf.mul(tf.gather(flat, i), warp.weights[k]!))),
      shape,
    );
    const gradFunc = (dy: tf.Tensor) => {
      const flatDy = tf.reshape(dy, [rows, 3]);
      return tf.reshape(
        tf.addN(
          warp.indices.map((i, k) =>
            tf.scatterND(tf.expandDims(i, 1), tf.mul(flatDy, warp.weights[k]!), [rows, 3]),
          ),
        ),
        shape,
      );
    };
    return { value, gradFunc };
  });
  return resample(images) as tf.Tensor4D;
}

/**
 * The objective's weights over the map, [B, h, w, C]: per unit, its channels over the whole
 * map (each cell 1 / (h·w)) or bilinearly at its cell.
 */
function objectiveMask(units: readonly VisualUnit[], shape: readonly number[]): tf.Tensor4D {
  const [h, w, c] = [shape[1]!, shape[2]!, shape[3]!];
  const mask = new Float32Array(units.length * h * w * c);
  units.forEach((unit, b) => {
    const cells: [number, number, number][] = [];
    if (unit.cell) {
      const r = Math.min(Math.max(unit.cell[0], 0), h - 1);
      const q = Math.min(Math.max(unit.cell[1], 0), w - 1);
      const r0 = Math.floor(r);
      const q0 = Math.floor(q);
      const r1 = Math.min(r0 + 1, h - 1);
      const q1 = Math.min(q0 + 1, w - 1);
      const fr = r - r0;
      const fq = q - q0;
      cells.push([r0, q0, (1 - fr) * (1 - fq)], [r0, q1, (1 - fr) * fq], [r1, q0, fr * (1 - fq)]);
      cells.push([r1, q1, fr * fq]);
    } else {
      for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) cells.push([r, q, 1 / (h * w)]);
    }
    for (const ch of unit.channels)
      for (const [r, q, weight] of cells) mask[((b * h + r) * w + q) * c + ch]! += weight;
  });
  return tf.tensor4d(mask, [units.length, h, w, c]);
}

/** Checks the units against the layer's channel count and map (E_INVALID_ARGUMENT). */
function checkUnits(units: readonly VisualUnit[], shape: readonly number[]): void {
  const [h, w, c] = [shape[1]!, shape[2]!, shape[3]!];
  for (const unit of units) {
    if (unit.channels.length === 0)
      throw invalid(`${unit.label} has no channel to maximize; name at least one`);
    const bad = unit.channels.find((ch) => !Number.isInteger(ch) || ch < 0 || ch >= c);
    if (bad !== undefined)
      throw invalid(`${unit.label}: channel ${bad} is out of range; the layer has filters 0…${c - 1}`);
    if (unit.cell && !unit.cell.every((v, i) => Number.isFinite(v) && v >= -0.5 && v <= [h, w][i]! - 0.5))
      throw invalid(`${unit.label}: cell (${unit.cell.join(', ')}) is outside the ${h}×${w} map`);
  }
}

/**
 * Activation maximization of each unit, `batch` units at a time, one image each: the images are
 * Fourier coefficients (weighted towards low frequencies, `decay`) turned into pixels by two
 * matrix products with `fourierBasis`, mapped through the colour square root and a sigmoid into
 * [0, 1]; every step sees them through a random rotation, scale and shift (`applyWarp`) and
 * minimizes −objective + tv · total variation with Adam. Every step runs in tf.tidy; the
 * coefficients and the optimizer are disposed before it returns.
 */
export function visualizeUnits(
  forward: LayerForward,
  units: readonly VisualUnit[],
  options: VisualizeOptions,
): VisualizationResult {
  const d = VISUALIZE_DEFAULTS;
  const size = options.size;
  const steps = options.steps ?? d.steps;
  const batchSize = options.batch ?? d.batch;
  if (!Number.isInteger(size) || size < 4)
    throw invalid(`the image side must be an integer ≥ 4, not ${size}`);
  if (!Number.isInteger(steps) || steps < 1) throw invalid(`steps must be an integer ≥ 1, not ${steps}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw invalid(`the batch must be an integer ≥ 1, not ${batchSize}`);
  if (units.length === 0) throw invalid('no unit to visualize; name at least one filter, node or group');
  const colour = options.colour ?? [1, 0, 0, 0, 1, 0, 0, 0, 1];
  if (colour.length !== 9 || !colour.every(Number.isFinite))
    throw invalid('the colour square root must be 9 finite numbers (a 3×3 matrix, row-major)');
  const limits = {
    jitter: options.jitter ?? Math.max(1, Math.round(size / 16)),
    scale: options.scale ?? d.scale,
    rotate: options.rotate ?? d.rotate,
  };
  const tvWeight = options.tv ?? d.tv;
  const rng = new Rng(options.seed ?? 'visualize');
  const { basis, frequency } = fourierBasis(size);
  const weightsData = spectrumWeights(frequency, options.decay ?? d.decay);
  // Pixels of unit variance per coefficient of unit variance, whatever the side and the decay.
  const gain = size / Math.sqrt(weightsData.reduce((s, v) => s + v * v, 0));
  // Shape and channel count of the layer's map, and the units' check, before any optimization
  // (and before any tensor of its own: a forward pass or a check that fails leaves nothing).
  const mapShape = tf.tidy(() => forward(tf.zeros([1, size, size, 3])).shape);
  checkUnits(units, mapShape);
  const fourier = tf.tensor2d(basis, [size, size]);
  const spectrum = tf.tensor2d(weightsData, [size, size]);
  const colourT = tf.tensor2d(colour as number[], [3, 3]);
  /** Coefficients [B, 3, S, S] → images [B, S, S, 3] in [0, 1]. */
  const toImages = (coefficients: tf.Tensor4D): tf.Tensor4D => {
    const b = coefficients.shape[0];
    const weighted = tf.mul(coefficients, spectrum);
    const flat = tf.reshape(weighted, [b * 3, size, size]);
    const basisB = tf.broadcastTo(fourier, [b * 3, size, size]);
    // X = F · C · Fᵀ per image and channel.
    const pixels = tf.matMul(tf.matMul(basisB, flat), basisB, false, true);
    const channelsLast = tf.transpose(tf.reshape(pixels, [b, 3, size, size]), [0, 2, 3, 1]);
    const rgb = tf.matMul(tf.reshape(channelsLast, [b * size * size, 3]), colourT, false, true);
    return tf.reshape(tf.sigmoid(tf.mul(rgb, gain)), [b, size, size, 3]);
  };
  const objectiveOf = (images: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor1D =>
    tf.sum(tf.mul(forward(images), mask), [1, 2, 3]);
  const totalVariation = (images: tf.Tensor4D): tf.Tensor1D => {
    const dy = tf.sub(
      tf.slice(images, [0, 1, 0, 0], [-1, -1, -1, -1]),
      tf.slice(images, [0, 0, 0, 0], [-1, size - 1, -1, -1]),
    );
    const dx = tf.sub(
      tf.slice(images, [0, 0, 1, 0], [-1, -1, -1, -1]),
      tf.slice(images, [0, 0, 0, 0], [-1, -1, size - 1, -1]),
    );
    return tf.add(tf.mean(tf.square(dy), [1, 2, 3]), tf.mean(tf.square(dx), [1, 2, 3]));
  };

  const out: UnitVisualization[] = [];
  const started = performance.now();
  try {
    for (let from = 0; from < units.length; from += batchSize) {
      const chunk = units.slice(from, from + batchSize);
      const b = chunk.length;
      const init = new Float32Array(b * 3 * size * size);
      for (let i = 0; i < init.length; i++) init[i] = rng.normal(0, options.init ?? d.init);
      const start = tf.tensor4d(init, [b, 3, size, size]);
      const coefficients = tf.variable(start, true);
      start.dispose();
      const mask = objectiveMask(chunk, mapShape);
      const optimizer = tf.train.adam(options.learningRate ?? d.learningRate);
      try {
        const initial = tf.tidy(() => objectiveOf(toImages(coefficients), mask).arraySync());
        for (let step = 1; step <= steps; step++) {
          const objective = tf.tidy(() => {
            const warp = randomWarp(rng, b, size, limits);
            let mean = 0;
            optimizer.minimize(
              () => {
                const images = toImages(coefficients);
                const objectives = objectiveOf(applyWarp(images, warp), mask);
                // Read back only for a listener: a read waits for the device (a GPU back end) every step.
                if (options.onStep) mean = tf.mean(objectives).dataSync()[0]!;
                return tf.sum(
                  tf.sub(tf.mul(totalVariation(images), tvWeight * size * size), objectives),
                ) as tf.Scalar;
              },
              false,
              [coefficients],
            );
            return mean;
          });
          options.onStep?.({ batch: from, step, objective });
        }
        const { images, final } = tf.tidy(() => {
          const im = toImages(coefficients);
          return { images: im.dataSync() as Float32Array, final: objectiveOf(im, mask).arraySync() };
        });
        chunk.forEach((unit, k) => {
          const rgb = new Uint8Array(size * size * 3);
          const offset = k * size * size * 3;
          for (let p = 0; p < rgb.length; p++) rgb[p] = Math.round(images[offset + p]! * 255);
          out.push({ unit, rgb, activation: final[k]!, initialActivation: initial[k]! });
        });
      } finally {
        optimizer.dispose();
        coefficients.dispose();
        mask.dispose();
      }
    }
  } finally {
    tf.dispose([fourier, spectrum, colourT]);
  }
  const ms = performance.now() - started;
  return { size, steps, batch: batchSize, units: out, ms, msPerUnit: ms / units.length };
}

export interface VisualizeNetworkOptions extends Omit<VisualizeOptions, 'size' | 'colour'> {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  /** The layer (module-local or MODULE:LAYER) the units are on. */
  readonly layer: string;
  readonly units: readonly VisualUnit[];
  /** The colour correlations come from this category's object crops (default: no decorrelation). */
  readonly category?: CategoryId;
}

/**
 * `visualizeUnits` on a layer of a network's link, at the network's input side, with the colour
 * square root of 32 object crops of `category`; returns the result and the module-qualified layer.
 */
export function visualizeNetworkUnits(
  options: VisualizeNetworkOptions,
): VisualizationResult & { readonly layer: string } {
  const { network, link, layer, units, category, ...settings } = options;
  const ref = findLayer(network, link, layer);
  const size = cellGeometry(ref).imageSize[0];
  const colour = category
    ? colourSquareRoot(
        partImages(category, { count: 32, size, crop: true, seed: 'visualize-colour' }).samples,
      )
    : undefined;
  const result = visualizeUnits(layerForward(ref), units, {
    ...settings,
    size,
    ...(colour ? { colour } : {}),
  });
  return { ...result, layer: `${ref.module.name}:${ref.name}` };
}
