import * as tf from '@tensorflow/tfjs';
import {
  TASKS,
  TransplantError,
  type ModuleManifest,
  type TaskBehaviour,
  type TaskBridge,
  type TaskId,
} from '@transplant/core';
import type { ModuleInstance, Network } from '@transplant/composer';
import type { TeacherFn } from './bd-loss';
import type { CalibrationMode } from './training-defaults';

/** A loaded specific network: its manifest and its one link's modules. */
export interface SpecificNetwork {
  readonly manifest: ModuleManifest;
  readonly network: Network;
}

export interface Calibration {
  readonly scale: number;
  readonly offset: number;
}

/** A fitted bridge calibration and the images it cost. */
export interface BridgeCalibration extends Calibration {
  readonly mode: CalibrationMode;
  /** Images the fit saw. */
  readonly images: number;
  /** Of those, images whose class label was read (0 for `label-free`). */
  readonly annotated: number;
  /** Images counted as showing the category: by the teacher's mask (`label-free`) or by their label. */
  readonly present: number;
}

/** How the teacher was found (docs/design.md §4), for reports and errors. */
export type TeacherResolution =
  | {
      readonly kind: 'network';
      readonly name: string;
      readonly head: ModuleInstance;
      readonly description: string;
    }
  | {
      readonly kind: 'bridge';
      readonly name: string;
      readonly head: ModuleInstance;
      readonly bridge: TaskBridge;
      readonly description: string;
    }
  | { readonly kind: 'none'; readonly reason: string };

export function linkOf(n: SpecificNetwork): { category: ModuleInstance; task: ModuleInstance } {
  if (n.network.links.length !== 1) {
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${n.manifest.name} has ${n.network.links.length} links; transplant takes specific networks (one link)`,
      { module: n.manifest.name, operation: 'transplant' },
    );
  }
  const link = n.network.links[0]!;
  return { category: n.network.module(link.category), task: n.network.module(link.task) };
}

/**
 * The teacher of an adapter between `to`'s category module f and `from`'s task module g: a
 * function of x = f(I). (1) `to`'s own head when it solves g's task; (2) a bridge from its
 * head (segmentation → classification: a pooled presence score of the mask); (3) none.
 * A named teacher is accepted only when its category module has f's weights digest.
 */
export function resolveTeacher(
  from: SpecificNetwork,
  to: SpecificNetwork,
  named?: SpecificNetwork,
): TeacherResolution {
  return teacherFor(linkOf(from).task.task!, to, named);
}

/** The teacher of an adapter for a `studentTask` head on `to`'s category module (see `resolveTeacher`). */
export function teacherFor(
  studentTask: TaskId,
  to: SpecificNetwork,
  named?: SpecificNetwork,
): TeacherResolution {
  const f = linkOf(to).category;
  const source = named ?? to;
  if (named) {
    const theirs = linkOf(named).category;
    if (theirs.published?.digest !== f.published?.digest) {
      throw new TransplantError(
        'E_TEACHER_INVALID',
        `${named.manifest.name} sits on ${theirs.name} (${theirs.published?.digest}); the student's category module is ${f.name} (${f.published?.digest})`,
        {
          module: named.manifest.name,
          operation: 'resolveTeacher',
        },
      );
    }
  }
  const head = linkOf(source).task;
  const teacherTask: TaskId = head.task!;
  if (teacherTask === studentTask) {
    return {
      kind: 'network',
      name: source.manifest.name,
      head,
      description: `${source.manifest.name} itself (its ${teacherTask} head on the same category module)`,
    };
  }
  const bridges: TaskBehaviour['bridges'] = TASKS[teacherTask].bridges;
  const bridge = bridges[studentTask];
  if (bridge) {
    return {
      kind: 'bridge',
      name: `${source.manifest.name}→${studentTask}`,
      head,
      bridge,
      description: `task bridge ${teacherTask} → ${studentTask} on ${source.manifest.name}: a calibrated log-mean-exp presence score of its mask logits`,
    };
  }
  const reason = `no teacher for a ${studentTask} adapter on ${f.name}: ${source.manifest.name} solves ${teacherTask} and no bridge maps ${teacherTask} → ${studentTask}`;
  if (named)
    throw new TransplantError('E_TEACHER_INVALID', reason, {
      module: named.manifest.name,
      operation: 'resolveTeacher',
    });
  return { kind: 'none', reason };
}

/** The presence score of a mask: log-mean-exp of its logits, a smooth maximum (one value per image). */
export function presenceScore(maskLogits: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const pixels = maskLogits.size / maskLogits.shape[0]!;
    return tf.sub(
      tf.logSumExp(tf.reshape(maskLogits, [maskLogits.shape[0]!, pixels]), 1, true),
      Math.log(pixels),
    ) as tf.Tensor2D;
  });
}

/** Each image's share of mask pixels the teacher marks as the category (logit > 0). */
export function maskCoverage(maskLogits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(
    () =>
      tf.mean(
        tf.reshape(tf.cast(tf.greater(maskLogits, 0), 'float32'), [maskLogits.shape[0]!, -1]),
        1,
      ) as tf.Tensor1D,
  );
}

/**
 * The share of an image the teacher's mask must cover for the teacher to "see" the category
 * (a pseudo-label of presence). Chosen once on the dev split over the zoo's eight segmenters
 * (docs/calibration.md): smaller shares count the segmenters' stray blobs on other animals as
 * cats, larger ones miss small or occluded animals.
 */
export const PRESENCE_SHARE = 0.04;

/**
 * The label-free calibration: the logistic fit of `fitCalibration`, with the teacher's own
 * decision (its mask covers at least `PRESENCE_SHARE` of the image) as the target instead of a
 * class label. The targets are smoothed as in Platt scaling, (n₊ + 1) / (n₊ + 2) and
 * 1 / (n₋ + 2), so the fit stays finite even when the teacher calls every image the same
 * (the bridge is then a constant, and `present` says why).
 */
export function fitLabelFreeCalibration(
  scores: readonly number[],
  coverage: readonly number[],
): Calibration & { readonly present: number } {
  const present = coverage.filter((c) => c >= PRESENCE_SHARE).length;
  const absent = coverage.length - present;
  const high = (present + 1) / (present + 2);
  const low = 1 / (absent + 2);
  return {
    ...fitCalibration(
      scores,
      coverage.map((c) => (c >= PRESENCE_SHARE ? high : low)),
    ),
    present,
  };
}

/** Ridge weight on the slope of the standardised score: bounds the fit when the classes separate. */
export const CALIBRATION_RIDGE = 1;

/**
 * One-dimensional logistic regression (Newton's method) on the standardised score, with a
 * ridge penalty on the slope (`CALIBRATION_RIDGE`): the scale and offset that turn a score into
 * a calibrated logit of "the category is present". Fitted once per bridge. Without the penalty,
 * scores that separate the classes perfectly drive the slope to infinity — cat-seg@1.1.0's
 * presence score did (scale 5.5·10⁸), and the student learned nothing from that teacher.
 */
export function fitCalibration(scores: readonly number[], labels: readonly number[]): Calibration {
  // \`labels\` may be soft targets in [0, 1] (the label-free fit's smoothed pseudo-labels).
  const n = scores.length;
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / n) || 1;
  const z = scores.map((s) => (s - mean) / sd);
  let a = 1;
  let b = 0;
  for (let iteration = 0; iteration < 100; iteration++) {
    let g0 = CALIBRATION_RIDGE * a,
      g1 = 0,
      h00 = CALIBRATION_RIDGE,
      h01 = 0,
      h11 = 1e-9;
    z.forEach((s, i) => {
      const p = 1 / (1 + Math.exp(-(a * s + b)));
      const r = p - labels[i]!;
      const w = p * (1 - p);
      g0 += r * s;
      g1 += r;
      h00 += w * s * s;
      h01 += w * s;
      h11 += w;
    });
    const det = h00 * h11 - h01 * h01;
    const da = (h11 * g0 - h01 * g1) / det;
    const db = (h00 * g1 - h01 * g0) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { scale: a / sd, offset: b - (a * mean) / sd };
}

/** The teacher as a function of x: the head itself, or the calibrated seg → cls bridge on it. */
export function teacherFunction(
  resolution: Exclude<TeacherResolution, { kind: 'none' }>,
  calibration?: Calibration,
): TeacherFn {
  const head = resolution.head;
  if (resolution.kind === 'network') return (x) => head.model.apply(x) as tf.Tensor;
  if (!calibration) throw new Error('the seg → cls bridge needs its calibration');
  return (x) =>
    tf.add(tf.mul(presenceScore(head.model.apply(x) as tf.Tensor), calibration.scale), calibration.offset);
}
