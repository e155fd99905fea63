import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { tensorsToWeights, weightsToTensors } from './tensors';
import { decodeWeights, encodeWeights } from './weights-codec';

describe('tensors ↔ weights blob', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', env: {} });
  });

  it('round-trips tfjs tensors bit-exactly and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const original = {
      kernel: tf.randomNormal([3, 3, 4, 8], 0, 1, 'float32', 7),
      steps: tf.tensor1d([1, 2, 3], 'int32'),
      on: tf.tensor1d([true, false], 'bool'),
    };
    const blob = encodeWeights(tensorsToWeights(original), { generatedBy: 'transplant/0.1.0' });
    const restored = weightsToTensors(decodeWeights(blob).tensors);
    for (const [name, t] of Object.entries(original)) {
      expect(restored[name]!.dtype).toBe(t.dtype);
      expect(restored[name]!.shape).toEqual(t.shape);
      expect(Array.from(restored[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    tf.dispose([...Object.values(original), ...Object.values(restored)]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
