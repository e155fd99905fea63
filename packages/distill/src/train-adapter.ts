import * as tf from '@tensorflow/tfjs';
import { taskLoss, type ModuleInstance, type Network } from '@transplant/composer';
import { AdamTrainer, constantRate, restoreCheckpoint, saveCheckpoint } from '@transplant/core';
import { Rng } from '@transplant/data';
import { DEFAULT_MASK_PROBE, type DistillMethod, type ProbeKind } from './training-defaults';
import {
  bdLoss,
  disposeTargets,
  pseudoLabelProbe,
  taskProbeGradient,
  teacherTargets,
  type BdWeights,
  type TeacherFn,
  type TeacherTargets,
} from './bd-loss';

/** The loss weights of the distillation methods (docs/methods.md §10: both terms together were best). */
export const METHOD_WEIGHTS: Record<Exclude<DistillMethod, 'ol'>, BdWeights> = {
  bd: { gradient: 1, output: 0.1 },
  kd: { gradient: 0, output: 1 },
};

export interface AdapterLink {
  readonly category: string;
  readonly adapter: string;
  readonly task: string;
}

export interface TrainAdapterArgs {
  readonly network: Network;
  readonly link: AdapterLink;
  readonly method: DistillMethod;
  /** bd, kd: the teacher, a function of x = f(I). */
  readonly teacher?: TeacherFn;
  /** bd, kd: images without labels (target images and negatives). */
  readonly unlabeled?: tf.Tensor4D;
  /** ol: annotated samples and their task targets (labels [N] or masks [N, H, W, 1]). */
  readonly labelled?: { readonly images: tf.Tensor4D; readonly targets: tf.Tensor };
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  /** bd, kd on a mask output: the task-derived pseudo-label probe (default) or seeded Gaussian probes. */
  readonly probe?: ProbeKind;
  /**
   * ol: draw every minibatch half from the samples that show the category (any positive
   * target) and half from the rest, instead of uniformly: with 10 target images among 200
   * negatives a uniform draw holds one positive per batch of 32 on average.
   */
  readonly balanced?: boolean;
  /** Called after these steps (ascending), e.g. to evaluate the link along one run. */
  readonly checkpoints?: { readonly steps: readonly number[]; readonly at: (step: number) => void };
  readonly log?: (step: number, loss: number) => void;
  /** Resumable training: see `AdapterCheckpoint`. */
  readonly checkpoint?: AdapterCheckpoint;
}

/**
 * Where and how often a training run saves its state (adapter weights, Adam's moments, the
 * losses so far). A run started again with the same directory and fingerprint resumes at the
 * last saved step and ends bit-identical to an uninterrupted run on the same back end: the
 * minibatch draws of the steps already done are replayed, everything else is restored.
 */
export interface AdapterCheckpoint {
  readonly directory: string;
  /** Save after every this many steps (and after the last). */
  readonly every: number;
  /** The run's inputs (module digests, options, back end): another fingerprint starts over. */
  readonly fingerprint: string;
  /** Told when a run resumes, or why a checkpoint was not used. */
  readonly note?: (line: string) => void;
}

interface AdapterCheckpointState {
  readonly step: number;
  readonly wallSeconds: number;
  readonly losses: number[];
}

/**
 * A minibatch's pool indices: uniform over the pool, or (with `classes`) alternately a sample
 * that shows the category and one that does not, each uniform within its class.
 */
export function drawIndices(
  rng: Rng,
  size: number,
  n: number,
  classes?: { readonly positive: readonly number[]; readonly rest: readonly number[] },
): number[] {
  if (!classes) return Array.from({ length: size }, () => rng.int(0, n - 1));
  return Array.from({ length: size }, (_, i) => {
    const from = i % 2 === 0 ? classes.positive : classes.rest;
    return from[rng.int(0, from.length - 1)]!;
  });
}

/** The pool indices whose targets show the category (a label of 1, or a mask with a pixel on). */
function positiveIndices(targets: tf.Tensor): { positive: number[]; rest: number[] } {
  const n = targets.shape[0]!;
  const any = tf.tidy(() => tf.max(tf.reshape(targets, [n, -1]), 1).dataSync());
  const positive: number[] = [];
  const rest: number[] = [];
  any.forEach((v, i) => (v > 0.5 ? positive : rest).push(i));
  return { positive, rest };
}

/** f(I) for every image, in chunks, as one tensor (f is frozen: computed once). */
function features(category: ModuleInstance, images: tf.Tensor4D): tf.Tensor4D {
  const chunks: tf.Tensor[] = [];
  for (let start = 0; start < images.shape[0]; start += 64) {
    const size = Math.min(64, images.shape[0] - start);
    chunks.push(tf.tidy(() => category.model.predict(tf.slice(images, start, size)) as tf.Tensor));
  }
  const out = tf.concat(chunks) as tf.Tensor4D;
  tf.dispose(chunks);
  return out;
}

/** Probes: ones for one logit per image; for a mask, one seeded Gaussian map per image or the pseudo-label rule. */
function probesFor(
  task: ModuleInstance,
  options: { readonly count: number; readonly seed: number; readonly kind: ProbeKind },
): tf.Tensor | ((output: tf.Tensor) => tf.Tensor) {
  const { count, seed, kind } = options;
  const shape = [count, ...task.ports.output.shape.slice(1)] as number[];
  if (task.ports.output.shape.length === 2) return tf.ones(shape);
  return kind === 'pseudo-label' ? pseudoLabelProbe : tf.randomNormal(shape, 0, 1, 'float32', seed);
}

function gather(targets: TeacherTargets, indices: tf.Tensor1D): TeacherTargets {
  return {
    x: tf.gather(targets.x, indices),
    probe: tf.gather(targets.probe, indices),
    output: tf.gather(targets.output, indices),
    gradient: tf.gather(targets.gradient, indices),
  };
}

/**
 * Trains only the adapter of one link (everything else is frozen and never handed to the
 * optimizer): bd / kd on teacher targets over unlabeled images, ol on annotated samples.
 * Minibatches are drawn with a seeded generator; Adam. Returns the loss of every step.
 */
export function trainAdapter(args: TrainAdapterArgs): { losses: number[]; stepMilliseconds: number } {
  const { network, link } = args;
  network.setTrainable([link.adapter]);
  const category = network.module(link.category);
  const onFeatures = (images: tf.Tensor4D) => features(category, images);
  const x = {
    unlabeled: args.method !== 'ol' && args.unlabeled ? onFeatures(args.unlabeled) : undefined,
    labelled:
      args.method === 'ol' && args.labelled && args.labelled.images.shape[0] > 0
        ? onFeatures(args.labelled.images)
        : undefined,
  };
  try {
    return trainAdapterOnFeatures({
      ...args,
      adapter: network.module(link.adapter),
      task: network.module(link.task),
      ...(x.unlabeled ? { unlabeled: x.unlabeled } : {}),
      ...(x.labelled
        ? { labelled: { images: x.labelled, targets: args.labelled!.targets } }
        : args.method === 'ol' && args.labelled
          ? { labelled: args.labelled }
          : {}),
    });
  } finally {
    tf.dispose([x.unlabeled, x.labelled].filter((t): t is tf.Tensor4D => t !== undefined));
  }
}

/** What `trainAdapterOnFeatures` takes: `trainAdapter`'s arguments with f's outputs in place of images. */
export type TrainOnFeaturesArgs = Omit<TrainAdapterArgs, 'network' | 'link'> & {
  /** The adapter (only its weights learn) and the frozen task module after it. */
  readonly adapter: ModuleInstance;
  readonly task: ModuleInstance;
};

/**
 * The core of `trainAdapter`, on adapter inputs x = f(I) instead of images: `unlabeled` and
 * `labelled.images` hold feature maps (e.g. a frozen backbone's outputs, computed once and
 * cached). Only the adapter's layers are trainable while it runs.
 */
export function trainAdapterOnFeatures(args: TrainOnFeaturesArgs): {
  losses: number[];
  stepMilliseconds: number;
} {
  const { adapter, task } = args;
  for (const layer of task.built.layers) layer.trainable = false;
  for (const layer of adapter.built.layers) layer.trainable = true;
  const variables = adapter.built.layers.flatMap((layer) =>
    layer.trainableWeights.map((v) => v.read() as tf.Variable),
  );
  const trainer = new AdamTrainer(variables, constantRate(args.learningRate));
  const rng = new Rng(`adapter:${args.seed}`);
  const losses: number[] = [];
  let pool: { targets?: TeacherTargets; x?: tf.Tensor4D; y?: tf.Tensor; n: number };
  let classes: { positive: number[]; rest: number[] } | undefined;
  if (args.method === 'ol') {
    if (!args.labelled || args.labelled.images.shape[0] === 0) throw new Error('ol needs annotated samples');
    pool = {
      x: args.labelled.images.clone(),
      y: args.labelled.targets.clone(),
      n: args.labelled.images.shape[0],
    };
    if (args.balanced) {
      classes = positiveIndices(args.labelled.targets);
      if (classes.positive.length === 0 || classes.rest.length === 0) classes = undefined;
    }
  } else {
    if (!args.teacher || !args.unlabeled)
      throw new Error(`${args.method} needs a teacher and unlabeled images`);
    const x = args.unlabeled;
    const probe = probesFor(task, {
      count: x.shape[0],
      seed: args.seed,
      kind: args.probe ?? DEFAULT_MASK_PROBE,
    });
    pool = { targets: teacherTargets(args.teacher, x, probe), n: x.shape[0] };
    if (probe instanceof tf.Tensor) probe.dispose();
  }
  const started = performance.now();
  const saved = args.checkpoint;
  const checkpointed = { variables, optimizer: trainer.optimizer };
  let first = 0;
  try {
    if (saved) {
      const restored = restoreCheckpoint<AdapterCheckpointState>(saved.directory, checkpointed, {
        fingerprint: saved.fingerprint,
        ...(saved.note ? { onStale: saved.note } : {}),
      });
      if (restored) {
        first = Math.min(restored.step, args.steps);
        losses.push(...restored.losses.slice(0, first));
        // The draws of the steps already done, so that the next batch is the uninterrupted run's.
        for (let step = 0; step < first; step++)
          drawIndices(rng, Math.min(args.batchSize, pool.n), pool.n, classes);
        saved.note?.(`resuming at step ${first}/${args.steps} from ${saved.directory}`);
      }
    }
    for (let step = first; step < args.steps; step++) {
      const picked = drawIndices(rng, Math.min(args.batchSize, pool.n), pool.n, classes);
      const indices = tf.tensor1d(picked, 'int32');
      let value: number;
      if (pool.targets) {
        const batch = gather(pool.targets, indices);
        const weights = METHOD_WEIGHTS[args.method as 'bd' | 'kd'];
        const u = weights.gradient > 0 ? taskProbeGradient(adapter, task, batch) : undefined;
        value = trainer.step(step, () => bdLoss(adapter, task, batch, weights, u));
        disposeTargets(batch);
        u?.dispose();
      } else {
        const x = tf.gather(pool.x!, indices);
        const y = tf.gather(pool.y!, indices);
        // g is frozen: inference mode, so that no layer of it (batch statistics) moves while h learns.
        value = trainer.step(step, () =>
          taskLoss(
            task.task!,
            task.model.apply(adapter.model.apply(x, { training: true }), { training: false }) as tf.Tensor,
            y,
          ),
        );
        tf.dispose([x, y]);
      }
      indices.dispose();
      losses.push(value);
      args.log?.(step + 1, value);
      if (args.checkpoints?.steps.includes(step + 1)) args.checkpoints.at(step + 1);
      if (saved && ((step + 1) % saved.every === 0 || step + 1 === args.steps))
        saveCheckpoint<AdapterCheckpointState>(
          saved.directory,
          checkpointed,
          { step: step + 1, wallSeconds: (performance.now() - started) / 1000, losses },
          { fingerprint: saved.fingerprint },
        );
    }
  } finally {
    trainer.dispose();
    if (pool.targets) disposeTargets(pool.targets);
    tf.dispose([pool.x, pool.y].filter((t): t is tf.Tensor => t !== undefined));
  }
  return {
    losses,
    stepMilliseconds: (performance.now() - started) / Math.max(args.steps - first, 1),
  };
}
