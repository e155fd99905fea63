import * as tf from '@tensorflow/tfjs';
import { AdamTrainer, constantRate, restoreCheckpoint, saveCheckpoint, smoothLoss } from '@transplant/core';
import {
  FilterAssignment,
  handBuiltFilterLossProbe,
  recordingProbe,
  relaxedBeta,
} from '@transplant/interpretable';
import { unitRms, type Explainer, type Performer } from './explainer';

export interface ExplainerTraining {
  /** The step cap: training stops here if the stopping rule has not stopped it before. */
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /**
   * Weight of −log g, the paper's term that pushes the gate g toward the interpretable track; 0
   * (the default) leaves the gate at p0 untrained. With Adam its gradient −η(1 − g), of one
   * sign, moves θ by about the learning rate per step whatever η is, so a trained gate counts
   * steps (docs/methods.md §5.3); kept for comparison.
   */
  readonly eta: number;
  /** Scale of the hand-built filter-loss gradient on the interpretable track (interpretable's default). */
  readonly strength: number;
  /** Images per "epoch" of the filter gradient's 1/epoch decay. */
  readonly epochImages: number;
  /**
   * L2 weight decay on the decoder's kernel: without a price on its weights, the decoder could
   * scale the ordinary track back up by 1/(1 − p) and p would rise for free.
   */
  readonly decay: number;
  /**
   * Weight of a decision term (0: off, the paper's losses only): the performer's upper layers
   * applied to the decoder's output from the interpretable track alone must give the
   * performer's logits (squared error / their variance), so that what the interpretable track
   * carries is what the decision uses. Needs `upper`.
   */
  readonly decision: number;
  readonly seed: number;
  /** The stopping rule (on the dev pool): evaluate every `every` steps … */
  readonly every: number;
  /** … and stop once p and the dev reconstruction error each moved less than `epsilon` over the last `window` evaluations. */
  readonly window: number;
  readonly epsilon: number;
}

export const TRAINING_DEFAULTS: ExplainerTraining = {
  steps: 1500,
  batchSize: 32,
  learningRate: 1e-3,
  eta: 0,
  strength: 1e-3,
  epochImages: 2000,
  decay: 1e-4,
  decision: 0,
  seed: 1,
  every: 50,
  window: 4,
  epsilon: 0.02,
};

/**
 * The stopping rule: true once the last `window` + 1 evaluations (a span of `window` intervals)
 * each lie within `epsilon` of each other in p and in the dev reconstruction error.
 */
export function converged(
  evaluations: readonly { readonly p: number; readonly error: number }[],
  { window, epsilon }: { readonly window: number; readonly epsilon: number },
): boolean {
  if (window < 1 || evaluations.length < window + 1) return false;
  const last = evaluations.slice(-(window + 1));
  const range = (f: (e: { p: number; error: number }) => number) =>
    Math.max(...last.map(f)) - Math.min(...last.map(f));
  return range((e) => e.p) <= epsilon && range((e) => e.error) <= epsilon;
}

/** The performer's features of a pool of images, computed once: x, y and its positive calls. */
export interface FeaturePool {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor4D;
  /** The performer's logits, [N, classes]. */
  readonly logits?: tf.Tensor2D;
  /** Per image: 0 where the performer calls it its category (logit > 0), −1 otherwise. */
  readonly classes: number[];
}

/** The RMS of a pool's y: the explainer's output scale (`Explainer.scale`). */
export const poolScale = (pool: Pick<FeaturePool, 'y'>): number =>
  tf.tidy(() => tf.sqrt(tf.mean(tf.square(pool.y))).dataSync()[0]!) || 1;

/** Runs the frozen performer over images (in chunks) and keeps x, y and its calls. The caller disposes x and y. */
export function featurePool(
  performer: Performer,
  images: (from: number, to: number) => tf.Tensor4D,
  count: number,
): FeaturePool {
  const xs: tf.Tensor4D[] = [];
  const ys: tf.Tensor4D[] = [];
  const ls: tf.Tensor2D[] = [];
  const classes: number[] = [];
  for (let from = 0; from < count; from += 64) {
    const batch = images(from, Math.min(from + 64, count));
    const x = performer.features(batch);
    const y = performer.higher(x);
    const logits = performer.upper(y);
    classes.push(...Array.from(logits.dataSync(), (v) => (v > 0 ? 0 : -1)));
    xs.push(x);
    ys.push(y);
    ls.push(tf.reshape(logits, [logits.shape[0]!, -1]) as tf.Tensor2D);
    tf.dispose([batch, logits]);
  }
  const pool = {
    x: tf.concat(xs) as tf.Tensor4D,
    y: tf.concat(ys) as tf.Tensor4D,
    logits: tf.concat(ls) as tf.Tensor2D,
    classes,
  };
  tf.dispose([...xs, ...ys, ...ls]);
  return pool;
}

export interface ExplainerCurve {
  readonly step: number;
  /** Training reconstruction error ‖ŷ − y‖² / var(y) (1 = predicting the mean), smoothed. */
  readonly error: number;
  /** The gate weight g. */
  readonly gate: number;
  /** On the dev pool (when one is given): the reconstruction error and the measured p (`Explainer.reconstructionShare`). */
  readonly devError?: number;
  readonly p?: number;
}

export interface ExplainerTrainingResult {
  /** Every `every` steps (and the last). */
  readonly curve: ExplainerCurve[];
  /** Steps taken. */
  readonly steps: number;
  /** Whether the stopping rule stopped training (false: the cap did, or no dev pool was given). */
  readonly converged: boolean;
}

/** Where and how often `trainExplainer` saves its state; another fingerprint starts over. */
export interface ExplainerCheckpoint {
  readonly directory: string;
  readonly every: number;
  readonly fingerprint: string;
  readonly note?: (line: string) => void;
}

interface ExplainerCheckpointState {
  readonly step: number;
  readonly wallSeconds: number;
  readonly random: number;
  readonly smoothed: number | null;
  readonly curve: ExplainerCurve[];
  readonly stopped: boolean;
}

/**
 * Trains the explainer without labels (docs/methods.md §5.3): reconstruction of the performer's
 * higher features y from x by distillation, plus η·(−log g) when η > 0, plus the hand-built
 * filter-loss gradient on the interpretable track (positives = the images the performer itself
 * calls its category: no annotation is used), with β relaxing every step as in the
 * interpretable layers. With a `dev` pool, every `every` steps the dev reconstruction error and
 * the measured p are recorded and the stopping rule (`converged`) may end training before the cap.
 */
export function trainExplainer(
  subject: {
    readonly explainer: Explainer;
    readonly pool: FeaturePool;
    /** Progress lines (default: none). */
    readonly log?: (line: string) => void;
    /** Called after every step with the step done (1…steps) and the smoothed reconstruction error. */
    readonly progress?: (step: number, error: number) => void;
    /** The performer's upper layers, for the decision term. */
    readonly upper?: (y: tf.Tensor4D) => tf.Tensor;
    /** Held-out features for the stopping rule (dev images, never the final test). */
    readonly dev?: Pick<FeaturePool, 'x' | 'y'>;
    /**
     * Save the training state here every `every` steps and resume from it: a killed run started
     * again ends bit-identical to an uninterrupted one on the same back end.
     */
    readonly checkpoint?: ExplainerCheckpoint;
  },
  opts: ExplainerTraining,
): ExplainerTrainingResult {
  const { explainer, pool, log = () => undefined, progress, upper, dev } = subject;
  if (opts.decision > 0 && (!upper || !pool.logits))
    throw new Error('the decision term needs the performer’s upper layers and the pool’s logits');
  const n = pool.classes.length;
  const variables = explainer.variables({ gate: opts.eta > 0 });
  const trainer = new AdamTrainer(variables, constantRate(opts.learningRate));
  const filters = explainer.options.filters;
  const assignment = FilterAssignment.single(filters);
  const variance = tf.tidy(() => tf.moments(pool.y).variance.dataSync()[0]!) || 1;
  const logitVariance = pool.logits
    ? tf.tidy(() => tf.moments(pool.logits!).variance.dataSync()[0]!) || 1
    : 1;
  const curve: ExplainerCurve[] = [];
  let smoothed = NaN;
  let state = opts.seed * 2654435761;
  const next = () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x6d2b79f5) >>> 0;
    return state / 4294967296;
  };
  const started = performance.now();
  let stopped = false;
  let first = 0;
  const saved = subject.checkpoint;
  // The β of the part mask and any other weight training moves besides the variables.
  const statistics = [explainer.interpretable, explainer.ordinary, explainer.decoder].flatMap(
    (model) => model.nonTrainableWeights,
  );
  const checkpointed = { variables, optimizer: trainer.optimizer, statistics };
  if (saved) {
    let restored: ExplainerCheckpointState | undefined;
    try {
      restored = restoreCheckpoint<ExplainerCheckpointState>(saved.directory, checkpointed, {
        fingerprint: saved.fingerprint,
        ...(saved.note ? { onStale: saved.note } : {}),
      });
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    if (restored) {
      first = restored.step;
      state = restored.random;
      smoothed = restored.smoothed ?? NaN;
      curve.push(...restored.curve);
      stopped = restored.stopped;
      saved.note?.(`resuming the explainer at step ${first}/${opts.steps} from ${saved.directory}`);
    }
  }
  for (let step = first; step < opts.steps && !stopped; step++) {
    const picks = Array.from({ length: Math.min(opts.batchSize, n) }, () => Math.floor(next() * n));
    const index = tf.tensor1d(picks, 'int32');
    const x = tf.gather(pool.x, index) as tf.Tensor4D;
    const y = tf.gather(pool.y, index) as tf.Tensor4D;
    const target = opts.decision > 0 ? (tf.gather(pool.logits!, index) as tf.Tensor2D) : null;
    const classes = picks.map((i) => pool.classes[i]!);
    const positives = assignment.positives(classes);
    const weights = assignment.weights();
    const recorder = recordingProbe();
    const tap = handBuiltFilterLossProbe({
      beta: explainer.mask.beta.read() as tf.Tensor1D,
      mode: explainer.mask.mode,
      positives,
      positiveWeights: weights.positive,
      negativeWeights: weights.negative,
      epoch: 1 + (step * opts.batchSize) / opts.epochImages,
      strength: opts.strength,
    });
    explainer.mask.probe = (t) => recorder.probe(tap(t));
    let beta: tf.Tensor1D | null = null;
    let error = 0;
    trainer.step(step, () => {
      const f = explainer.forward(x, { training: true });
      beta = tf.keep(relaxedBeta(explainer.mask, recorder.taken(), positives));
      const reconstruction = tf.div(tf.mean(tf.square(tf.sub(f.reconstruction, y))), variance) as tf.Scalar;
      error = reconstruction.dataSync()[0]!;
      const kernel = explainer.decoder.layers[0]!.trainableWeights[0]!.read();
      const terms = [reconstruction, tf.mul(opts.decay, tf.sum(tf.square(kernel)))];
      if (opts.eta > 0) terms.push(tf.mul(-opts.eta, tf.log(f.p)));
      if (target) {
        const alone = explainer.decode(tf.mul(f.p, unitRms(f.interpretable)) as tf.Tensor4D, {
          training: true,
        });
        const logits = tf.reshape(upper!(alone), target.shape);
        terms.push(tf.mul(opts.decision / logitVariance, tf.mean(tf.square(tf.sub(logits, target)))));
      }
      return tf.addN(terms) as tf.Scalar;
    });
    explainer.mask.probe = null;
    recorder.release();
    if (beta) {
      explainer.mask.beta.write(beta);
      (beta as tf.Tensor).dispose();
    }
    tf.dispose([index, x, y, positives, weights.positive, weights.negative, ...(target ? [target] : [])]);
    smoothed = smoothLoss(smoothed, error);
    progress?.(step + 1, smoothed);
    if ((step + 1) % opts.every === 0 || step + 1 === opts.steps) {
      const measured = dev ? explainer.reconstructionShare(dev.x, dev.y) : null;
      curve.push({
        step: step + 1,
        error: smoothed,
        gate: explainer.gate(),
        ...(measured ? { devError: measured.both, p: measured.p } : {}),
      });
      const perStep = (performance.now() - started) / (step + 1);
      if (measured && (step + 1) % opts.every === 0)
        stopped = converged(
          curve.filter((c) => c.step % opts.every === 0).map((c) => ({ p: c.p!, error: c.devError! })),
          opts,
        );
      if ((step + 1) % 250 === 0 || step + 1 === opts.steps || stopped)
        log(
          `explainer step ${step + 1}/${opts.steps}  reconstruction error ${smoothed.toFixed(4)}${measured ? `  dev ${measured.both.toFixed(4)}  p ${measured.p.toFixed(3)}` : ''}  gate ${explainer.gate().toFixed(3)}  ${perStep.toFixed(0)} ms/step${stopped ? '  (converged)' : ''}`,
        );
    }
    if (saved && ((step + 1) % saved.every === 0 || step + 1 === opts.steps || stopped))
      saveCheckpoint<ExplainerCheckpointState>(
        saved.directory,
        checkpointed,
        {
          step: step + 1,
          wallSeconds: (performance.now() - started) / 1000,
          random: state,
          smoothed: Number.isNaN(smoothed) ? null : smoothed,
          curve,
          stopped,
        },
        { fingerprint: saved.fingerprint },
      );
  }
  trainer.dispose();
  return { curve, steps: curve.at(-1)?.step ?? 0, converged: stopped };
}
