import * as tf from '@tensorflow/tfjs';
import { AdamTrainer, constantRate, smoothLoss } from '@transplant/core';
import {
  FilterAssignment,
  handBuiltFilterLossProbe,
  recordingProbe,
  relaxedBeta,
} from '@transplant/interpretable';
import { unitRms, type Explainer, type Performer } from './explainer';

export interface ExplainerTraining {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Weight of −log p, the term that prefers the interpretable track. */
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
}

export const TRAINING_DEFAULTS: ExplainerTraining = {
  steps: 1500,
  batchSize: 32,
  learningRate: 1e-3,
  eta: 0.3,
  strength: 1e-3,
  epochImages: 2000,
  decay: 1e-4,
  decision: 0,
  seed: 1,
};

/** The performer's features of a pool of images, computed once: x, y and its positive calls. */
export interface FeaturePool {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor4D;
  /** The performer's logits, [N, classes]. */
  readonly logits?: tf.Tensor2D;
  /** Per image: 0 where the performer calls it its category (logit > 0), −1 otherwise. */
  readonly classes: number[];
}

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
  /** Reconstruction error ‖ŷ − y‖² / var(y) (1 = predicting the mean). */
  readonly error: number;
  readonly p: number;
}

/**
 * Trains the explainer without labels (docs/methods.md §5.3): reconstruction of the performer's
 * higher features y from x by distillation, plus η·(−log p), plus the hand-built filter-loss
 * gradient on the interpretable track (positives = the images the performer itself calls its
 * category: no annotation is used), with β relaxing every step as in the interpretable layers.
 */
export function trainExplainer(
  subject: {
    readonly explainer: Explainer;
    readonly pool: FeaturePool;
    /** Progress lines (default: none). */
    readonly log?: (line: string) => void;
    /** The performer's upper layers, for the decision term. */
    readonly upper?: (y: tf.Tensor4D) => tf.Tensor;
  },
  opts: ExplainerTraining,
): ExplainerCurve[] {
  const { explainer, pool, log = () => undefined, upper } = subject;
  if (opts.decision > 0 && (!upper || !pool.logits))
    throw new Error('the decision term needs the performer’s upper layers and the pool’s logits');
  const n = pool.classes.length;
  const variables = explainer.variables();
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
  for (let step = 0; step < opts.steps; step++) {
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
      const terms = [
        reconstruction,
        tf.mul(-opts.eta, tf.log(f.p)),
        tf.mul(opts.decay, tf.sum(tf.square(kernel))),
      ];
      if (target) {
        const alone = explainer.decoder.apply(tf.mul(f.p, unitRms(f.interpretable)), {
          training: true,
        }) as tf.Tensor4D;
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
    if ((step + 1) % 50 === 0 || step + 1 === opts.steps) {
      curve.push({ step: step + 1, error: smoothed, p: explainer.p() });
      const perStep = (performance.now() - started) / (step + 1);
      if ((step + 1) % 250 === 0 || step + 1 === opts.steps)
        log(
          `explainer step ${step + 1}/${opts.steps}  reconstruction error ${smoothed.toFixed(4)}  p ${explainer.p().toFixed(3)}  ${perStep.toFixed(0)} ms/step`,
        );
    }
  }
  trainer.dispose();
  return curve;
}
