import * as tf from '@tensorflow/tfjs';
import { partMasks, type PartMaskMode, type PartMaskProbe } from '@transplant/core';

/** The paper's template constants (docs/methods.md §2.3): τ = 0.5/n², β = 4, one prior 1/(n²+1) per template. */
export const TEMPLATE_BETA = 4;
export const templateTau = (cells: number): number => 0.5 / cells;

/**
 * The n² positive templates of an h×w map as a [n², n²] matrix (row μ = the template peaked
 * at cell μ, column = cell): t^μ_ij = τ·max(1 − β·‖[i,j] − μ‖₁/n, −1), with n the map side
 * (the mean side for a non-square map).
 */
export function positiveTemplates(h: number, w: number, beta = TEMPLATE_BETA): Float32Array {
  const cells = h * w;
  const tau = templateTau(cells);
  const n = (h + w) / 2;
  const out = new Float32Array(cells * cells);
  for (let mu = 0; mu < cells; mu++) {
    const mr = Math.floor(mu / w);
    const mc = mu % w;
    for (let cell = 0; cell < cells; cell++) {
      const l1 = Math.abs(Math.floor(cell / w) - mr) + Math.abs((cell % w) - mc);
      out[mu * cells + cell] = tau * Math.max(1 - (beta * l1) / n, -1);
    }
  }
  return out;
}

/**
 * The exact filter loss of docs/methods.md §2.5, −MI(X; 𝒯), per filter over the batch, averaged
 * over the filters — built from differentiable ops, so autodiff gives its gradient:
 *   tr(x·T) for every map x and template T (the n² positive templates and T⁻ = −τ),
 *   log p(x|T) = tr(x·T) − log Z_T with Z_T = Σ_{x' in the batch} exp(tr(x'·T)),
 *   log p(x) = log Σ_T p(T) p(x|T),  MI = Σ_T p(T) Σ_x p(x|T)·(log p(x|T) − log p(x)),
 * with the uniform prior p(T) = 1/(n²+1) (the paper's α = n²/(1+n²)). The loss needs no
 * labels: it is low when the batch's maps split into silent ones (fit by T⁻) and ones
 * peaked at a single place (each fit by one T_μ). x: [B, H, W, C], post-ReLU.
 */
export function mutualInformationLoss(x: tf.Tensor4D, templates?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const cells = h * w;
    const t = templates ?? tf.tensor2d(positiveTemplates(h, w), [cells, cells]);
    const flat = tf.reshape(tf.transpose(tf.reshape(x, [b, cells, c]), [2, 0, 1]), [c * b, cells]);
    const positive = tf.reshape(tf.matMul(flat, t, false, true), [c, b, cells]);
    const negative = tf.reshape(tf.mul(tf.sum(flat, 1), -templateTau(cells)), [c, b, 1]);
    const scores = tf.concat([positive, negative], 2);
    const logPxGivenT = tf.sub(scores, tf.logSumExp(scores, 1, true));
    const logPrior = -Math.log(cells + 1);
    const logPx = tf.logSumExp(tf.add(logPxGivenT, logPrior), 2, true);
    const terms = tf.mul(tf.exp(logPxGivenT), tf.sub(logPxGivenT, logPx));
    const mi = tf.mul(tf.sum(terms, [1, 2]), Math.exp(logPrior));
    return tf.neg(tf.mean(mi)) as tf.Scalar;
  });
}

/** The temperature `a` of the authors' hand-built gradient (docs/methods.md §2.6). */
export const HAND_BUILT_TEMPERATURE = 0.5;

export interface HandBuiltGradientOptions {
  readonly beta: tf.Tensor1D;
  readonly mode: PartMaskMode;
  /** [B, C]: 1 where image b belongs to the category filter c is assigned to, else 0. */
  readonly positives: tf.Tensor2D;
  /** Per-filter weights of the positive and negative terms ([C]; single-category: ones). */
  readonly positiveWeights: tf.Tensor1D;
  readonly negativeWeights: tf.Tensor1D;
  /** The schedule's `mag` = epoch / 0.1: the added gradient decays as 1/epoch. */
  readonly epoch: number;
  /** The factor the authors' code writes as 1e-5 (their gradient is also divided by the batch size). */
  readonly strength: number;
}

/** Replaces ±∞ and NaN by 0 (the authors' code clips ±∞ to the largest finite value and zeroes NaN; a 0 drops the term instead). */
const finite = (t: tf.Tensor) => tf.where(tf.isFinite(t), t, tf.zerosLike(t));

/**
 * The authors' hand-built filter-loss gradient (docs/methods.md §2.6, `our_vl_simplenn.m`) for a
 * batch of maps x [B, H, W, C]: the term added to dL/dx, [B, H, W, C]. On positives it is
 * −w⁺·ĝ⁺·M (activations pushed up near the part location and down away from it), on
 * negatives +w⁻·ĝ⁻ (all activations pushed down), with
 *   s⁺ = mean(x∘M), L⁺ = a·log mean_b exp(mean(x∘M')/a) (M' = the masks with batch and channel reversed),
 *   g⁺ = exp(s⁺/a)(s⁺ − L⁺ + a), ĝ⁺ = g⁺ / (mean over the filter's positives of g⁺ · mag);
 *   s⁻ = mean(x), L⁻ = a·log mean_b exp(−s⁻/a), g⁻ = exp(−s⁻/a)(−s⁻ − L⁻ + a), ĝ⁻ likewise over negatives.
 * The exponentials are shifted by their per-filter maximum before the ratio (it cancels).
 */
export function handBuiltFilterGradient(x: tf.Tensor4D, options: HandBuiltGradientOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const a = HAND_BUILT_TEMPERATURE;
    const mag = options.epoch / 0.1;
    const mask = partMasks(x, options.beta, options.mode);
    const pos = options.positives;
    const neg = tf.sub(1, pos) as tf.Tensor2D;
    const meanOver = (values: tf.Tensor2D, weights: tf.Tensor2D) =>
      tf.div(tf.sum(tf.mul(values, weights), 0), tf.maximum(tf.sum(weights, 0), 1));
    const logMeanExp = (values: tf.Tensor2D) => tf.sub(tf.logSumExp(values, 0), Math.log(values.shape[0]));

    const sPos = tf.mean(tf.mul(x, mask), [1, 2]) as tf.Tensor2D;
    const cross = tf.mean(tf.mul(x, tf.reverse(mask, [0, 3])), [1, 2]) as tf.Tensor2D;
    const lPos = tf.mul(logMeanExp(tf.div(cross, a) as tf.Tensor2D), a);
    const ePos = tf.exp(tf.div(tf.sub(sPos, tf.max(sPos, 0)), a));
    const gPos = tf.mul(ePos, tf.add(tf.sub(sPos, lPos), a)) as tf.Tensor2D;
    const hatPos = finite(tf.div(gPos, tf.mul(meanOver(gPos, pos), mag)));

    const sNeg = tf.mean(x, [1, 2]) as tf.Tensor2D;
    const lNeg = tf.mul(logMeanExp(tf.div(tf.neg(sNeg), a) as tf.Tensor2D), a);
    const eNeg = tf.exp(tf.div(tf.sub(tf.neg(sNeg), tf.max(tf.neg(sNeg), 0)), a));
    const gNeg = tf.mul(eNeg, tf.add(tf.sub(tf.neg(sNeg), lNeg), a)) as tf.Tensor2D;
    const hatNeg = finite(tf.div(gNeg, tf.mul(meanOver(gNeg, neg), mag)));

    const [b, , , c] = x.shape;
    const up = tf.reshape(tf.mul(tf.mul(hatPos, pos), options.positiveWeights), [b, 1, 1, c]);
    const down = tf.reshape(tf.mul(tf.mul(hatNeg, neg), options.negativeWeights), [b, 1, 1, c]);
    return tf.mul(tf.sub(down, tf.mul(up, mask)), options.strength) as tf.Tensor4D;
  });
}

/**
 * A mask-layer probe that leaves the forward pass unchanged and adds the hand-built
 * filter-loss gradient to dL/dx in the backward pass. The options' tensors must live until
 * the step's gradients are computed.
 */
export function handBuiltFilterLossProbe(options: HandBuiltGradientOptions): PartMaskProbe {
  const tap = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const extra = handBuiltFilterGradient(x, options);
    save([extra]);
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.add(dy, saved[0]!) };
  });
  return (x) => tap(x) as tf.Tensor4D;
}

/**
 * A probe that records the layer's input x (inside the step's tape) so that a loss can be
 * built on it. The layer would free x when its call ends; the recorder keeps it until
 * `release` (call it after the step).
 */
export function recordingProbe(): { probe: PartMaskProbe; taken: () => tf.Tensor4D; release: () => void } {
  let last: tf.Tensor4D | null = null;
  return {
    probe: (x) => {
      last = tf.keep(x);
      return x;
    },
    taken: () => {
      if (!last) throw new Error('the mask layer has not run in training mode this step');
      return last;
    },
    release: () => {
      last?.dispose();
      last = null;
    },
  };
}
