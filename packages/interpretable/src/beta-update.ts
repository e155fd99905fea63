import * as tf from '@tensorflow/tfjs';
import { partLocations, partMasks, type PartMask } from '@transplant/core';

/** β's range and the share of the way β moves toward its target per step (module doc of `relaxBeta`). */
export const BETA_RANGE = [1.5, 3] as const;
export const BETA_RELAXATION = 0.1;

/**
 * The authors' β update (docs/methods.md §2.6), scaled to the map size: per filter, the target is
 * β* = clamp(3/σ̄, 1.5, 3) with σ̄ the activation spread (the activation-weighted distance of
 * the map's cells from its part location, `sqrtvar`) averaged over the filter's positive
 * images with weights s⁺ = mean(x∘M). Their σ̄ is in cells of a 14-cell map; ours is measured
 * in the same share of the map, σ̄·13/(n−1), so that the mask covers the same share of the
 * map for the same spread. The code feeds (β* − β)·(−10⁴) to SGD with a 0.05 lr multiplier,
 * i.e. β relaxes toward β*; here β moves `BETA_RELAXATION` of the way each step. Filters with
 * no positive activation keep their β. x: [B, H, W, C]; positives: [B, C]. Returns the new β
 * (the caller owns it).
 */
export function relaxedBeta(layer: PartMask, x: tf.Tensor4D, positives: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const beta = layer.beta.read() as tf.Tensor1D;
    const { rows, cols } = partLocations(x, layer.mode);
    const rowIndex = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]);
    const colIndex = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]);
    const distance2 = tf.add(tf.square(tf.sub(rowIndex, rows)), tf.square(tf.sub(colIndex, cols)));
    const mass = tf.maximum(tf.sum(x, [1, 2]), 1e-9);
    const spread = tf.sqrt(tf.div(tf.sum(tf.mul(distance2, x), [1, 2]), mass));
    const weight = tf.mul(tf.relu(tf.mean(tf.mul(x, partMasks(x, beta, layer.mode)), [1, 2])), positives);
    const total = tf.sum(weight, 0);
    const mean = tf.div(tf.sum(tf.mul(weight, spread), 0), tf.maximum(total, 1e-12));
    const n = Math.max((h + w) / 2, 2);
    const scaled = tf.mul(mean, 13 / (n - 1));
    const target = tf.clipByValue(tf.div(3, tf.maximum(scaled, 1e-6)), BETA_RANGE[0], BETA_RANGE[1]);
    const moved = tf.add(beta, tf.mul(tf.sub(target, beta), BETA_RELAXATION));
    return tf.where(tf.greater(total, 0), moved, beta) as tf.Tensor1D;
  });
}

/** Writes `relaxedBeta` into the layer (outside a gradient step: the step's masks read the old β). */
export function relaxBeta(layer: PartMask, x: tf.Tensor4D, positives: tf.Tensor2D): void {
  const next = relaxedBeta(layer, x, positives);
  layer.beta.write(next);
  next.dispose();
}
