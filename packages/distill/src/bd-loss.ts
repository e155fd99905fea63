import * as tf from '@tensorflow/tfjs';
import type { ModuleInstance } from '@transplant/composer';
import { adapterForward, adapterVjp, convReluChain } from './adapter-vjp';

/** A function of the adapter input x = f(I) whose output and gradients the student must match. */
export type TeacherFn = (x: tf.Tensor4D) => tf.Tensor;

/** Targets the teacher gives one batch, computed once (the teacher never learns). */
export interface TeacherTargets {
  readonly x: tf.Tensor4D;
  /** Probes on the output: ones for a scalar score; for a mask, seeded Gaussian maps or the pseudo-label probe. */
  readonly probe: tf.Tensor;
  /** y_T = T(x). */
  readonly output: tf.Tensor;
  /** ∂(probe · T(x))/∂x. */
  readonly gradient: tf.Tensor4D;
}

/**
 * The teacher's output and its probed gradient for a batch. `probe` is a tensor, or a function
 * of the teacher's output (a task-derived probe such as `pseudoLabelProbe`), evaluated once and
 * then constant like any other probe.
 */
export function teacherTargets(
  teacher: TeacherFn,
  x: tf.Tensor4D,
  probeOrRule: tf.Tensor | ((output: tf.Tensor) => tf.Tensor),
): TeacherTargets {
  return tf.tidy(() => {
    const output = teacher(x);
    const probe = probeOrRule instanceof tf.Tensor ? probeOrRule : probeOrRule(output);
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(teacher(input as tf.Tensor4D), probe)))(
      x,
    ) as tf.Tensor4D;
    return {
      x: tf.keep(x.clone()),
      probe: tf.keep(probe.clone()),
      output: tf.keep(output),
      gradient: tf.keep(gradient),
    };
  });
}

/**
 * The task-derived probe for a mask of logits: v = ∂ℓ/∂y of the per-pixel binary cross-entropy
 * at the teacher's logits y_T against the teacher's own hard mask, v = σ(y_T) − 1[y_T > 0]
 * (docs/methods.md §4.4). It is near 0 where the teacher is sure and largest on its uncertain
 * pixels, so gradient matching concentrates on the boundaries.
 */
export function pseudoLabelProbe(output: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.sigmoid(output), tf.cast(tf.greater(output, 0), 'float32')));
}

export function disposeTargets(t: TeacherTargets): void {
  tf.dispose([t.x, t.probe, t.output, t.gradient]);
}

export interface BdWeights {
  /** Weight of the gradient-matching term (0: plain output distillation, KD). */
  readonly gradient: number;
  /** Weight of the output-matching term. */
  readonly output: number;
}

/**
 * u = J_gᵀ v at the adapter output z = h(x), by first-order autodiff through the frozen g.
 * Call it outside any gradient tape and pass it to `bdLoss` as a constant: g is piecewise
 * linear, so u depends on the adapter's weights only through ReLU and max-pool switches,
 * whose derivative is 0 almost everywhere (docs/methods.md §4.7).
 */
export function taskProbeGradient(
  adapter: ModuleInstance,
  task: ModuleInstance,
  targets: Pick<TeacherTargets, 'x' | 'probe'>,
): tf.Tensor4D {
  return tf.tidy(() => {
    const z = adapterForward(convReluChain(adapter), targets.x).z;
    return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(task.model.apply(input) as tf.Tensor, targets.probe)))(
      z,
    ) as tf.Tensor4D;
  });
}

/**
 * The back-distillation loss of one batch (docs/methods.md §4.4, the normalised form of §10):
 *   w_g · mean‖J_Sᵀv − J_Tᵀv‖² / mean‖J_Tᵀv‖²  +  w_o · mean(y_S − y_T)² / (var(y_T) + ε)
 * with J_Sᵀv = J_hᵀ u, u = `taskProbeGradient(...)` (a constant), and J_hᵀ written as
 * explicit ops (adapter-vjp.ts), so first-order autodiff w.r.t. the adapter's variables
 * suffices. Each term is divided by the teacher's own magnitude, so the two are comparable
 * and their weights mean the same for every teacher. The student must still match the
 * teacher in the teacher's units: a teacher on another scale (the seg → cls bridge) is
 * calibrated to the student's logit scale first (teacher.ts).
 */
export function bdLoss(
  adapter: ModuleInstance,
  task: ModuleInstance,
  targets: TeacherTargets,
  weights: BdWeights,
  u?: tf.Tensor4D,
): tf.Scalar {
  return tf.tidy(() => {
    const chain = convReluChain(adapter);
    const forward = adapterForward(chain, targets.x);
    const terms: tf.Scalar[] = [];
    if (weights.output > 0) {
      const output = task.model.apply(forward.z) as tf.Tensor;
      const variance = tf.add(tf.moments(targets.output).variance, 1e-6);
      terms.push(
        tf.mul(
          weights.output,
          tf.div(tf.mean(tf.squaredDifference(output, targets.output)), variance),
        ) as tf.Scalar,
      );
    }
    if (weights.gradient > 0) {
      if (!u) throw new Error('bdLoss: the gradient term needs u = taskProbeGradient(...)');
      const student = adapterVjp(chain, forward, u);
      const scale = tf.add(tf.mean(tf.square(targets.gradient)), 1e-12);
      terms.push(
        tf.mul(
          weights.gradient,
          tf.div(tf.mean(tf.squaredDifference(student, targets.gradient)), scale),
        ) as tf.Scalar,
      );
    }
    return terms.reduce((a, b) => tf.add(a, b) as tf.Scalar);
  });
}

/** J_Sᵀv for a batch: the student's gradient w.r.t. the adapter input, by the explicit construction. */
export function studentGradient(
  adapter: ModuleInstance,
  task: ModuleInstance,
  x: tf.Tensor4D,
  probe: tf.Tensor,
): tf.Tensor4D {
  const u = taskProbeGradient(adapter, task, { x, probe });
  const out = tf.tidy(() => {
    const chain = convReluChain(adapter);
    return adapterVjp(chain, adapterForward(chain, x), u);
  });
  u.dispose();
  return out;
}
