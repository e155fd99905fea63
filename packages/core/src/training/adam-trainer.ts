import * as tf from '@tensorflow/tfjs';

/** The learning rate of each update, a function of the step alone (so that a resumed run follows it). */
export type LearningRateSchedule = (step: number) => number;

export interface StepDecayOptions {
  readonly learningRate: number;
  /** The factor applied at each decay step. */
  readonly decayTo: number;
  /** The steps from which one more factor of `decayTo` applies (in any order). */
  readonly at: readonly number[];
}

/** `learningRate`, times `decayTo` once for each step of `at` reached (`at` empty: a constant rate). */
export function stepDecay(options: StepDecayOptions): LearningRateSchedule {
  const { learningRate, decayTo, at } = options;
  return (step) => learningRate * decayTo ** at.filter((from) => step >= from).length;
}

/** The same learning rate at every step. */
export const constantRate =
  (learningRate: number): LearningRateSchedule =>
  () =>
    learningRate;

/**
 * Adam with two additions a resumable run needs: a learning rate that can follow a schedule
 * (Adam reads it on every update), and its bias-correction accumulators β₁ᵗ, β₂ᵗ exposed for
 * checkpoints. Stock `setWeights` recomputes them as pow(β, t + 1), which differs in the last
 * bits from the running product, so a resumed run would drift from an uninterrupted one.
 * β₁ = 0.9, β₂ = 0.999 and ε = the back end's epsilon: `tf.train.adam`'s defaults.
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

  /**
   * Everything an update reads besides the variables, synchronously (stock `getWeights` is
   * async): the moments m and v of each variable in update order (empty before the first
   * update), β₁ᵗ, β₂ᵗ and the update count. The tensors are live: do not dispose.
   */
  state(): { moments: tf.Variable[]; beta1: tf.Variable; beta2: tf.Variable; iterations: number } {
    const first = (this['accumulatedFirstMoment'] as { variable: tf.Variable }[]).map((m) => m.variable);
    const second = (this['accumulatedSecondMoment'] as { variable: tf.Variable }[]).map((m) => m.variable);
    return {
      moments: [...first, ...second],
      beta1: this['accBeta1'],
      beta2: this['accBeta2'],
      iterations: this.iterations,
    };
  }

  /**
   * Puts back a `state()` (the optimizer's variables share the tensors' data; the caller still frees its own), so
   * that the next update is the one an uninterrupted run would have made, to the bit.
   */
  restoreState(state: {
    moments: readonly tf.Tensor[];
    beta1: tf.Tensor;
    beta2: tf.Tensor;
    iterations: number;
  }): void {
    const count = state.moments.length / 2;
    const own = (tensors: readonly tf.Tensor[], suffix: string) =>
      tensors.map((t, i) => ({ originalName: `restored/${i}/${suffix}`, variable: t.variable(false) }));
    tf.dispose(this.state().moments);
    this['accumulatedFirstMoment'] = own(state.moments.slice(0, count), 'm');
    this['accumulatedSecondMoment'] = own(state.moments.slice(count), 'v');
    this.restoreBiasCorrection(state.beta1, state.beta2);
    this['iterations_'] = state.iterations;
  }
}

/**
 * The training loop's step, shared by every trainer: Adam on the given variables only (the
 * rest of the network stays frozen), at the schedule's learning rate for the step. The loops
 * around it (what a batch is, probes, checkpoints, logging) stay with their trainers.
 */
export class AdamTrainer {
  readonly optimizer: ScheduledAdam;
  private readonly variables: tf.Variable[];

  constructor(
    variables: readonly tf.Variable[],
    readonly schedule: LearningRateSchedule,
  ) {
    this.variables = [...variables];
    this.optimizer = new ScheduledAdam(schedule(0));
  }

  /** Update number `step`: minimizes `loss` (built inside the gradient tape) and returns its value. */
  step(step: number, loss: () => tf.Scalar): number {
    this.optimizer.setLearningRate(this.schedule(step));
    const value = this.optimizer.minimize(loss, true, this.variables)!;
    const out = value.dataSync()[0]!;
    value.dispose();
    return out;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** The running loss the trainers log: the first value, then an exponential average (weight 0.05 on the newest). */
export const smoothLoss = (smoothed: number, value: number): number =>
  Number.isNaN(smoothed) ? value : 0.95 * smoothed + 0.05 * value;
