import * as tf from '@tensorflow/tfjs';

/**
 * Adam with two additions a resumable run needs: a learning rate that can follow a schedule
 * (Adam reads it on every update), and its bias-correction accumulators β₁ᵗ, β₂ᵗ exposed for
 * checkpoints. Stock `setWeights` recomputes them as pow(β, t + 1), which differs in the last
 * bits from the running product, so a resumed run would drift from an uninterrupted one.
 */
export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999);
  }

  setLearningRate(value: number): void {
    this.learningRate = value;
  }

  /** The current β₁ᵗ and β₂ᵗ (live variables: do not dispose). */
  biasCorrection(): [tf.Variable, tf.Variable] {
    return [this['accBeta1'], this['accBeta2']];
  }

  restoreBiasCorrection(beta1: tf.Tensor, beta2: tf.Tensor): void {
    this['accBeta1'].assign(beta1);
    this['accBeta2'].assign(beta2);
  }
}
