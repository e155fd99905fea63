import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadOnednn } from '@transplant/native';
import { selectBackend } from '../select-backend';
import { fallbackCounts, resetFallbacks } from './fallback-log';

describe('fallback log', () => {
  it('counts kernels routed to cpu on copied data, and nothing for kernels on the fast path', async () => {
    await selectBackend({ requested: 'wasm', env: {} });
    resetFallbacks();
    const x = tf.tensor1d([1, 2, 3, 4]);
    const ids = tf.tensor1d([0, 1, 0, 1], 'int32');
    const outs = [tf.relu(x), tf.unsortedSegmentSum(x, ids, 2), tf.unsortedSegmentSum(x, ids, 2)];
    expect(Array.from(await outs[1]!.data())).toEqual([4, 6]);
    expect(fallbackCounts()).toEqual([{ kernel: 'UnsortedSegmentSum', via: 'cpu', calls: 2 }]);
    resetFallbacks();
    expect(fallbackCounts()).toEqual([]);
    tf.dispose([x, ids, ...outs]);
  });

  it.runIf(loadOnednn().ok)('counts a oneDNN kernel handing a call back to the stock kernel', async () => {
    await selectBackend({ requested: 'wasm+onednn', env: {} });
    resetFallbacks();
    const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 2, 3]) as tf.Tensor4D;
    const fast = tf.conv2d(x, w, 1, 'same');
    expect(fallbackCounts()).toEqual([]);
    // An activation oneDNN does not fuse (elu) keeps the stock fused kernel.
    const stock = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', activation: 'elu' });
    expect(fallbackCounts()).toEqual([{ kernel: 'FusedConv2D', via: 'stock', calls: 1 }]);
    tf.dispose([x, w, fast, stock]);
  });
});
