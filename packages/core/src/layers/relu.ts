import * as tf from '@tensorflow/tfjs';
import { stockLayerClass } from './stock-class';

const StockReLU = stockLayerClass('ReLU');

/**
 * tfjs-layers' ReLU layer with one change: ReLU(maxValue 6) — how Keras writes MobileNet's ReLU6,
 * and so every imported MobileNet — runs as one Relu6 kernel instead of Relu then ClipByValue
 * (two passes forward and eight kernels backward). The values are the same to the bit; a gradient
 * of 0 where x > 6 may come out as −0 where the stock layer gives +0. Other caps are the stock
 * layer's code. Registered under the stock class name, so deserialised models get it.
 */
export class ReLU extends StockReLU {
  static readonly className = 'ReLU';

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: tf.serialization.ConfigDict,
  ): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x !== undefined && (this as unknown as { maxValue?: number }).maxValue === 6) return tf.relu6(x);
    return super.call(inputs, kwargs);
  }
}
tf.serialization.registerClass(ReLU);
