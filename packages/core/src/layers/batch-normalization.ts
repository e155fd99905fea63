import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from '../backend/kernels/onednn/batch-norm';
import { stockLayerClass } from './stock-class';

/** The fields of tfjs-layers' BatchNormalization that this subclass reads (private in its typings). */
interface BatchNormFields {
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly gamma: tf.LayerVariable;
  readonly beta: tf.LayerVariable;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;
}

const StockBatchNormalization = stockLayerClass('BatchNormalization');

/**
 * tfjs-layers' BatchNormalization with one change: a training-mode call over the last axis runs
 * on the fused batch-norm kernels where the back end has them (wasm with the oneDNN addon),
 * instead of `moments` + `batchNorm` (docs/design.md §6). The moving averages are updated by the
 * same formula as the stock layer; inference, other axes, layers without γ or β and every other
 * back end are the stock layer's code. It is registered under the stock class name, so every
 * model deserialised in the process — an imported Keras MobileNet included — gets it.
 */
export class BatchNormalization extends StockBatchNormalization {
  static readonly className = 'BatchNormalization';

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: tf.serialization.ConfigDict,
  ): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const fields = this as unknown as BatchNormFields;
    if (
      kwargs['training'] === true &&
      x !== undefined &&
      fields.center &&
      fields.scale &&
      (fields.axis === -1 || fields.axis === x.rank - 1)
    ) {
      const fused = this.trainFused(x, fields);
      if (fused) return fused;
    }
    return super.call(inputs, kwargs);
  }

  private trainFused(x: tf.Tensor, fields: BatchNormFields): tf.Tensor | null {
    const outputs = batchNormTrain(x, fields.gamma.read(), fields.beta.read(), fields.epsilon);
    if (!outputs) return null;
    const [y, mean, variance] = outputs;
    // The stock layer's update: v ← v − (v − value)·(1 − momentum).
    const movingAverage = (variable: tf.LayerVariable, value: tf.Tensor) =>
      tf.tidy(() => {
        const current = variable.read();
        variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - fields.momentum)));
      });
    movingAverage(fields.movingMean, mean);
    movingAverage(fields.movingVariance, variance);
    tf.dispose([mean, variance]);
    return y;
  }
}
tf.serialization.registerClass(BatchNormalization);
