import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeModule } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { bdLoss, disposeTargets, studentGradient, taskProbeGradient, teacherTargets } from './bd-loss';
import { tinyModules } from './testing/tiny-modules';

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('back-distillation loss', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each([1, 3])(
    'builds J_Sᵀv = J_hᵀ J_gᵀ v equal to autodiff through h and g (%i adapter layers)',
    (layers) => {
      const m = tinyModules(2, layers);
      const start = tf.memory().numTensors;
      const x = tf.randomUniform([3, 4, 4, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const probe = tf.ones([3, 1]);
      const explicit = studentGradient(m.adapter, m.task, x, probe);
      const autodiff = tf.grad((input: tf.Tensor) =>
        tf.sum(tf.mul(m.task.model.apply(m.adapter.model.apply(input)) as tf.Tensor, probe)),
      )(x);
      expect(tf.tidy(() => tf.max(tf.abs(autodiff)).dataSync()[0]!)).toBeGreaterThan(1e-3);
      expect(maxAbs(explicit, autodiff)).toBeLessThan(1e-5);
      tf.dispose([x, probe, explicit, autodiff]);
      expect(tf.memory().numTensors).toBe(start);
      Object.values(m).forEach((v) => (typeof v === 'object' && 'built' in v ? disposeModule(v) : undefined));
    },
  );

  it('differentiates the gradient-matching term w.r.t. the adapter kernel as finite differences do', () => {
    const m = tinyModules(3, 1);
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const teacher = (input: tf.Tensor4D) => m.teacherTask.model.apply(input) as tf.Tensor;
    const targets = teacherTargets(teacher, x, tf.ones([2, 1]));
    const kernel = m.adapter.built.layers[0]!.weights[0]!.read() as tf.Variable;
    // u is re-derived at every evaluation, as a training step does; autodiff treats it as a constant.
    const loss = () => {
      const u = taskProbeGradient(m.adapter, m.task, targets);
      const value = bdLoss(m.adapter, m.task, targets, { gradient: 1, output: 0.1 }, u);
      u.dispose();
      return value;
    };
    const u = taskProbeGradient(m.adapter, m.task, targets);
    const { grads } = tf.variableGrads(
      () => bdLoss(m.adapter, m.task, targets, { gradient: 1, output: 0.1 }, u),
      [kernel],
    );
    u.dispose();
    const analytic = grads[kernel.name]!.dataSync();
    const original = kernel.dataSync().slice();
    const eps = 1e-3;
    const at = (i: number, delta: number) => {
      const values = original.slice();
      values[i]! += delta;
      kernel.assign(tf.tensor(values, kernel.shape));
      const v = tf.tidy(() => loss().dataSync()[0]!);
      return v;
    };
    // Entries spread over the kernel; float32 central differences, relative tolerance 2 %.
    for (const i of [0, 13, 40, 57, 80]) {
      const numeric = (at(i, eps) - at(i, -eps)) / (2 * eps);
      expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(0.02 * Math.max(Math.abs(analytic[i]!), 1e-2));
    }
    kernel.assign(tf.tensor(original, kernel.shape));
    tf.dispose(Object.values(grads));
    tf.dispose(x);
    disposeTargets(targets);
  });
});
