import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '../errors';
import { WEIGHT_DTYPES, type NamedWeight, type WeightDtype } from './weights-codec';

/** Reads tensors into named weights (copies; the tensors stay owned by the caller). */
export function tensorsToWeights(tensors: Readonly<Record<string, tf.Tensor>>): NamedWeight[] {
  return Object.entries(tensors).map(([name, t]) => {
    if (!Object.hasOwn(WEIGHT_DTYPES, t.dtype)) {
      throw new TransplantError('E_ARTIFACT_INVALID_TENSOR', `"${name}" has dtype ${t.dtype}`, {
        operation: 'tensorsToWeights',
      });
    }
    const values = t.dataSync();
    const dtype = t.dtype as WeightDtype;
    const data = new WEIGHT_DTYPES[dtype].array(values.length);
    data.set(values as ArrayLike<number>);
    return { name, dtype, shape: [...t.shape], data };
  });
}

/** Makes tensors from named weights; the caller owns (and disposes) them. */
export function weightsToTensors(weights: readonly NamedWeight[]): Record<string, tf.Tensor> {
  return Object.fromEntries(weights.map((w) => [w.name, tf.tensor(w.data, [...w.shape], w.dtype)]));
}
