import * as tf from '@tensorflow/tfjs';
import { TASKS, type TaskId } from '@transplant/core';

/**
 * The training loss of a task on one batch. cls: sigmoid cross-entropy of one logit per
 * image. seg: per-pixel sigmoid cross-entropy plus (1 − soft Dice) over the batch; the Dice
 * term keeps small objects from being drowned by background pixels.
 */
export function taskLoss(task: TaskId, logits: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (task) {
      case 'cls':
        return tf.losses.sigmoidCrossEntropy(tf.reshape(target, logits.shape), logits) as tf.Scalar;
      case 'seg': {
        const p = tf.sigmoid(logits);
        const dice = tf.div(
          tf.add(tf.mul(2, tf.sum(tf.mul(p, target))), 1),
          tf.add(tf.add(tf.sum(p), tf.sum(target)), 1),
        );
        return tf.add(tf.losses.sigmoidCrossEntropy(target, logits), tf.sub(1, dice)) as tf.Scalar;
      }
      default: {
        const unreachable: never = task;
        return unreachable;
      }
    }
  });
}

/** Adds two counts. */
export const addCounts = (x: TaskCounts, y: TaskCounts): TaskCounts => ({ a: x.a + y.a, b: x.b + y.b });

/** Counts a task's metric accumulates over batches. */
export interface TaskCounts {
  /** cls: misclassified images; seg: pixels in both predicted and true masks. */
  readonly a: number;
  /** cls: images; seg: pixels in either mask. */
  readonly b: number;
}

/**
 * Each image's counts: cls thresholds the logit at 0 against its 0/1 label (a = 1 when wrong,
 * b = 1); seg thresholds every pixel (a = pixels in both masks, b = pixels in either). Kept
 * per image so that an interval can resample the images (docs/protocol.md).
 */
export function imageCounts(task: TaskId, logits: tf.Tensor, target: tf.Tensor): TaskCounts[] {
  const n = logits.shape[0]!;
  const [a, b] = tf.tidy(() => {
    const predicted = tf.reshape(tf.greater(logits, 0), [n, -1]);
    const truth = tf.reshape(tf.greater(tf.reshape(target, logits.shape), 0.5), [n, -1]);
    const metric = TASKS[task].metric;
    switch (metric) {
      case 'error-rate':
        return [tf.max(tf.cast(tf.notEqual(predicted, truth), 'int32'), 1), tf.ones([n], 'int32')];
      case 'iou':
        return [
          tf.sum(tf.cast(tf.logicalAnd(predicted, truth), 'int32'), 1),
          tf.sum(tf.cast(tf.logicalOr(predicted, truth), 'int32'), 1),
        ];
      default: {
        const unreachable: never = metric;
        return unreachable;
      }
    }
  });
  const as = Array.from(a!.dataSync() as Int32Array);
  const bs = Array.from(b!.dataSync() as Int32Array);
  tf.dispose([a!, b!]);
  return as.map((x, i) => ({ a: x, b: bs[i]! }));
}

/** One batch's counts: the sum of its images' (see `imageCounts`). */
export function taskCounts(task: TaskId, logits: tf.Tensor, target: tf.Tensor): TaskCounts {
  return imageCounts(task, logits, target).reduce(addCounts, { a: 0, b: 0 });
}

/** The held-out metric from summed counts: cls error rate (lower is better), seg IoU (higher is better). */
export function taskMetric(task: TaskId, counts: TaskCounts): { name: 'error-rate' | 'iou'; value: number } {
  const name = TASKS[task].metric;
  switch (name) {
    case 'error-rate':
      return { name, value: counts.a / counts.b };
    case 'iou':
      return { name, value: counts.b === 0 ? 1 : counts.a / counts.b };
    default: {
      const unreachable: never = name;
      return unreachable;
    }
  }
}
