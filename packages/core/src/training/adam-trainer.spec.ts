import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { AdamTrainer, constantRate, smoothLoss, stepDecay } from './adam-trainer';

const problem = () => {
  const w = tf.variable(tf.tensor2d([0.3, -0.2, 0.5, 0.1, -0.4, 0.2], [3, 2]), true);
  const x = tf.tensor2d([1, 2, 3, -1, 0.5, 2, 0, 1, -2, 1.5, 1, 0], [4, 3]);
  const y = tf.tensor2d([1, 0, 0, 1, 1, 1, 0, 0], [4, 2]);
  const loss = () => tf.losses.sigmoidCrossEntropy(y, tf.matMul(x, w)) as tf.Scalar;
  return { w, loss, dispose: () => tf.dispose([w, x, y]) };
};

describe('learning-rate schedules', () => {
  it('step decay multiplies by decayTo once per decay step reached, in any order', () => {
    const schedule = stepDecay({ learningRate: 1e-3, decayTo: 0.3, at: [4000, 1400] });
    expect([0, 1399, 1400, 3999, 4000, 9999].map(schedule)).toEqual([
      1e-3,
      1e-3,
      1e-3 * 0.3,
      1e-3 * 0.3,
      1e-3 * 0.3 * 0.3,
      1e-3 * 0.3 * 0.3,
    ]);
    expect(stepDecay({ learningRate: 0.01, decayTo: 0.1, at: [] })(123)).toBe(0.01);
    expect([0, 5, 1e6].map(constantRate(2e-3))).toEqual([2e-3, 2e-3, 2e-3]);
  });

  it('smooths the logged loss from its first value', () => {
    expect(smoothLoss(NaN, 2)).toBe(2);
    expect(smoothLoss(2, 4)).toBeCloseTo(2.1, 12);
  });
});

describe('AdamTrainer', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('steps exactly as tf.train.adam with the learning rate set at the decay step, and frees its tensors', () => {
    const at = 3;
    const reference = problem();
    const adam = tf.train.adam(0.05);
    const referenceLosses: number[] = [];
    for (let step = 0; step < 6; step++) {
      // What the interpretable trainer did before the schedule: assign Adam's learning rate once.
      if (step === at) Object.assign(adam, { learningRate: 0.05 * 0.3 });
      const value = adam.minimize(reference.loss, true, [reference.w])!;
      referenceLosses.push(value.dataSync()[0]!);
      value.dispose();
    }
    adam.dispose();

    const subject = problem();
    const before = tf.memory().numTensors;
    const trainer = new AdamTrainer([subject.w], stepDecay({ learningRate: 0.05, decayTo: 0.3, at: [at] }));
    const losses = Array.from({ length: 6 }, (_, step) => trainer.step(step, subject.loss));
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(losses).toEqual(referenceLosses);
    expect(Array.from(subject.w.dataSync())).toEqual(Array.from(reference.w.dataSync()));
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    reference.dispose();
    subject.dispose();
  });

  it('moves only the variables it was given', () => {
    const { w, loss, dispose } = problem();
    const frozen = tf.variable(tf.scalar(2), true);
    const trainer = new AdamTrainer([w], constantRate(0.1));
    const start = w.dataSync().slice();
    trainer.step(0, () => tf.add(loss(), tf.square(frozen)) as tf.Scalar);
    trainer.dispose();
    expect(Array.from(w.dataSync())).not.toEqual(Array.from(start));
    expect(frozen.dataSync()[0]).toBe(2);
    tf.dispose(frozen);
    dispose();
  });

  it('exposes and restores Adam’s bias correction, so a resumed run continues bit-identically', async () => {
    const straight = problem();
    const a = new AdamTrainer([straight.w], constantRate(0.05));
    for (let step = 0; step < 4; step++) a.step(step, straight.loss);
    a.dispose();

    const resumed = problem();
    const b = new AdamTrainer([resumed.w], constantRate(0.05));
    for (let step = 0; step < 2; step++) b.step(step, resumed.loss);
    const weights = await b.optimizer.getWeights();
    const saved = weights.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    const bias = b.optimizer.biasCorrection().map((t) => t.clone());
    weights.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
    b.dispose();
    const c = new AdamTrainer([resumed.w], constantRate(0.05));
    await c.optimizer.setWeights(saved);
    c.optimizer.restoreBiasCorrection(bias[0]!, bias[1]!);
    for (let step = 2; step < 4; step++) c.step(step, resumed.loss);
    c.dispose();
    expect(Array.from(resumed.w.dataSync())).toEqual(Array.from(straight.w.dataSync()));
    tf.dispose([...saved.map((w) => w.tensor), ...bias]);
    straight.dispose();
    resumed.dispose();
  });
});
