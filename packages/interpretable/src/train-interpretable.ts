import * as tf from '@tensorflow/tfjs';
import { Network, createModule, type PluginRegistry } from '@transplant/composer';
import {
  AdamTrainer,
  partMaskLayers,
  smoothLoss,
  stepDecay,
  type PartMask,
  type PartMaskMode,
} from '@transplant/core';
import { CategoryVsRest, disposeBatch, type CategoryId, type SampleCategory } from '@transplant/data';
import { relaxedBeta } from './beta-update';
import { FilterAssignment } from './filter-assignment';
import { handBuiltFilterLossProbe, mutualInformationLoss, recordingProbe } from './filter-loss';

export type FilterLossMode = 'exact' | 'hand-built';

export interface InterpretableNetworkOptions {
  /** One category: "category vs. rest" (a binary head). Several: one class each plus background (softmax). */
  readonly categories: readonly CategoryId[];
  /** `none`: the ordinary network; else the top conv layer is interpretable, with this mask. */
  readonly mask: 'none' | PartMaskMode;
  readonly filterLoss: FilterLossMode;
  /** Weight of the exact loss (−MI averaged over filters). */
  readonly lambda: number;
  /** Scale of the hand-built gradient (the authors' 1e-5 for their loss scale). */
  readonly strength: number;
  /** Images per "epoch" of the hand-built gradient's 1/epoch decay. */
  readonly epochImages: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** The learning rate drops ×0.3 after this share of the steps. */
  readonly decayAt: number;
  /** Share of a single-category batch that are positives. */
  readonly positives: number;
  readonly seed: number;
  readonly imageSize: number;
  /** category-vgg blocks (the zoo's by default). */
  readonly blocks: readonly (readonly number[])[];
  /** Train and test on object crops (the papers' view, docs/methods.md §1.1) instead of whole scenes. */
  readonly crop: boolean;
}

export const INTERPRETABLE_DEFAULTS: Omit<InterpretableNetworkOptions, 'categories' | 'mask'> = {
  filterLoss: 'hand-built',
  lambda: 1,
  strength: 1e-2,
  epochImages: 2000,
  steps: 3000,
  batchSize: 32,
  learningRate: 1e-3,
  decayAt: 0.7,
  positives: 0.5,
  seed: 1,
  imageSize: 64,
  blocks: [[16], [32], [32], [64]],
  crop: false,
};

/** The module names of the networks this trainer builds. */
export const networkModules = (name: string) => ({ category: `${name}-features`, task: `${name}-head` });

export interface ExperimentDataOptions {
  readonly categories: readonly CategoryId[];
  readonly seed: number;
  readonly size: number;
  /** Object crops instead of whole scenes (default false). */
  readonly crop?: boolean;
  /** Force the background river in or out per category (see SyntheticSetOptions.rivers). */
  readonly rivers?: Partial<Record<SampleCategory, boolean>>;
  /** A final run (docs/protocol.md): only then may the final-test split be read. */
  readonly finalTest?: boolean;
}

/** An experiment network (built by buildExperimentNetwork under `name`) and its data. */
export interface ExperimentRun {
  readonly network: Network;
  readonly name: string;
  readonly data: CategoryVsRest;
}

/**
 * The data of an experiment: the category-vs-rest recipe on the experiments' own stream
 * (fresh seeded training images every step, as the zoo's; fixed dev and final-test sets, the
 * final test readable only with `finalTest`).
 * Labels: single-category 1/0; multi-category the category's index, the background class
 * last. `classOf` gives the filter-assignment class (−1: background/rest).
 */
export function experimentData(options: ExperimentDataOptions): CategoryVsRest {
  const { categories, seed, size, crop = false, rivers, finalTest = false } = options;
  return new CategoryVsRest({
    stream: 'icnn',
    seed,
    categories,
    size,
    crop,
    finalTest,
    ...(rivers ? { rivers } : {}),
  });
}

/** Builds the network (untrained, seeded): category-vgg (+ mask) → task-cls. */
export function buildExperimentNetwork(
  plugins: PluginRegistry,
  name: string,
  opts: Pick<InterpretableNetworkOptions, 'categories' | 'mask' | 'seed' | 'imageSize' | 'blocks'>,
): Network {
  const names = networkModules(name);
  const channels = opts.blocks.at(-1)!.at(-1)!;
  const stride = 2 ** (opts.blocks.length - 1);
  const category = createModule(plugins, {
    name: names.category,
    family: 'category-vgg',
    options: { inputSize: opts.imageSize, blocks: opts.blocks, kernelSize: 3, mask: opts.mask },
    seed: opts.seed * 100,
    category: opts.categories.length === 1 ? opts.categories[0]! : 'multi-category',
  });
  const task = createModule(plugins, {
    name: names.task,
    family: 'task-cls',
    options: {
      inputSize: opts.imageSize / stride,
      inputChannels: channels,
      inputStride: stride,
      convs: [64],
      hidden: 64,
      classes: opts.categories.length === 1 ? 1 : opts.categories.length + 1,
    },
    seed: opts.seed * 100 + 50,
  });
  return Network.create([category, task], [{ category: names.category, task: names.task }]);
}

/**
 * Starts the category module from a pre-trained one (the paper fine-tunes ImageNet-trained
 * networks): every weight with the same module-local name and shape is copied; a mask's β
 * keeps its initial value. Returns the names copied.
 */
export function initCategoryModule(
  network: Network,
  name: string,
  weights: Readonly<Record<string, tf.Tensor>>,
): string[] {
  const m = network.module(networkModules(name).category);
  const copied: string[] = [];
  for (const variable of m.built.layers.flatMap((l) => l.weights)) {
    const local = variable.originalName.startsWith(m.prefix)
      ? variable.originalName.slice(m.prefix.length)
      : variable.originalName;
    const source = weights[local];
    if (source && tf.util.arraysEqual(source.shape, variable.shape as number[])) {
      variable.write(source);
      copied.push(local);
    }
  }
  return copied;
}

/** The task loss: sigmoid cross-entropy for one category (`single`), softmax over the classes otherwise. */
function loss(logits: tf.Tensor, labels: tf.Tensor1D, { single }: { readonly single: boolean }): tf.Scalar {
  return tf.tidy(() =>
    single
      ? (tf.losses.sigmoidCrossEntropy(tf.reshape(labels, logits.shape), logits) as tf.Scalar)
      : (tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]!),
          logits,
        ) as tf.Scalar),
  );
}

/** What a held-out evaluation measured: the error rate, the mean task loss and the images. */
export interface ExperimentEvaluation {
  readonly error: number;
  /** Mean sigmoid (single) or softmax (multi) cross-entropy: breaks ties between equal error rates. */
  readonly loss: number;
  readonly images: number;
}

/**
 * Held-out error rate and loss on `split` (default dev, where every decision is taken): a logit
 * above 0 (single) or the largest logit (multi) against the label. The final-test split is
 * read only from data built with `finalTest` (else E_PROTOCOL).
 */
export function experimentEvaluation(
  { network, name, data }: ExperimentRun,
  options: {
    /** Held-out positives, and as many negatives (multi-category: per class and background). */
    readonly perClass: number;
    readonly split?: 'dev' | 'test';
  },
): ExperimentEvaluation {
  const { perClass, split = 'dev' } = options;
  const names = networkModules(name);
  // Single: perClass positives and as many negatives over the other categories and backgrounds; multi: perClass per class and background.
  const refs = data.heldOut(split, { positives: perClass, negatives: perClass });
  let wrong = 0;
  let lossSum = 0;
  for (let from = 0; from < refs.length; from += 50) {
    const batch = data.batch(refs.slice(from, from + 50));
    const logits = network.run(names.category, names.task, batch.images);
    const [w, l] = tf.tidy(() => {
      const predicted = data.single
        ? tf.cast(tf.greater(tf.reshape(logits, [-1]), 0), 'int32')
        : tf.argMax(logits, 1);
      const count = tf.sum(tf.cast(tf.notEqual(predicted, tf.cast(batch.labels, 'int32')), 'int32'));
      const mean = loss(logits, batch.labels, { single: data.single });
      return [count.dataSync()[0]!, mean.dataSync()[0]!];
    });
    wrong += w;
    lossSum += l * batch.refs.length;
    logits.dispose();
    disposeBatch(batch);
  }
  return { error: wrong / refs.length, loss: lossSum / refs.length, images: refs.length };
}

/** Held-out error rate on `split` (default dev): see experimentEvaluation. */
export function experimentError(
  run: ExperimentRun,
  options: { readonly perClass: number; readonly split?: 'dev' | 'test' },
): number {
  return experimentEvaluation(run, options).error;
}

export interface TrainResult {
  readonly steps: number;
  readonly wallSeconds: number;
  readonly finalLoss: number;
  /** The smoothed training loss every 50 steps. */
  readonly curve: { step: number; loss: number }[];
  /** Multi-category: each filter's category index at the end (single-category: all 0; ordinary: empty). */
  readonly assignment: number[];
}

/**
 * Trains both modules of an experiment network with Adam on the task loss plus, for an
 * interpretable network, the filter loss on its mask layer's input (docs/methods.md §2.5/§2.6), β
 * relaxing toward its target every step, and (multi-category) the filters reassigned to
 * categories by their running activation. `log` gets progress lines.
 */
export function trainExperimentNetwork(
  { network, name, data, log }: ExperimentRun & { readonly log: (line: string) => void },
  options: InterpretableNetworkOptions,
): TrainResult {
  const names = networkModules(name);
  const model = network.model(names.category, names.task);
  const variables = network.setTrainable([names.category, names.task]).map((v) => v.read() as tf.Variable);
  const masks: PartMask[] = partMaskLayers(network.module(names.category).built.layers);
  const mask = masks[0];
  const filters = mask ? (mask.beta.shape[0] as number) : 0;
  const assignment = data.single
    ? FilterAssignment.single(filters)
    : new FilterAssignment(data.categories.length, filters, data.shares(options.positives));
  // The learning rate drops ×0.3 once, at `decayAt` of the steps.
  const trainer = new AdamTrainer(
    variables,
    stepDecay({
      learningRate: options.learningRate,
      decayTo: 0.3,
      at: [Math.round(options.steps * options.decayAt)],
    }),
  );
  const curve: { step: number; loss: number }[] = [];
  let smoothed = NaN;
  const started = performance.now();
  for (let step = 0; step < options.steps; step++) {
    const batch = data.trainBatch(step, options.batchSize, options.positives);
    const classes = batch.refs.map((r) => data.classOf(r.category));
    const held: tf.Tensor[] = [];
    if (mask) {
      const positives = assignment.positives(classes);
      const weights = assignment.weights();
      held.push(positives, weights.positive, weights.negative);
      const recorder = recordingProbe();
      const tap =
        options.filterLoss === 'hand-built'
          ? handBuiltFilterLossProbe({
              beta: mask.beta.read() as tf.Tensor1D,
              mode: mask.mode,
              positives,
              positiveWeights: weights.positive,
              negativeWeights: weights.negative,
              epoch: 1 + (step * options.batchSize) / options.epochImages,
              strength: options.strength,
            })
          : null;
      mask.probe = (x) => recorder.probe(tap ? tap(x) : x);
      let beta: tf.Tensor1D | null = null;
      const value = trainer.step(step, () => {
        const logits = model.apply(batch.images, { training: true }) as tf.Tensor;
        const x = recorder.taken();
        // Bookkeeping on this step's maps (no gradient): β's next value, written after the
        // step (its masks read the current one), and the filters' classes.
        beta = tf.keep(relaxedBeta(mask, x, positives));
        assignment.update(x, classes);
        const task = loss(logits, batch.labels, { single: data.single });
        return options.filterLoss === 'exact'
          ? tf.add(task, tf.mul(mutualInformationLoss(x), options.lambda))
          : task;
      });
      mask.probe = null;
      recorder.release();
      if (beta) {
        mask.beta.write(beta);
        held.push(beta);
      }
      smoothed = smoothLoss(smoothed, value);
    } else {
      const value = trainer.step(step, () =>
        loss(model.apply(batch.images, { training: true }) as tf.Tensor, batch.labels, {
          single: data.single,
        }),
      );
      smoothed = smoothLoss(smoothed, value);
    }
    tf.dispose(held);
    disposeBatch(batch);
    if ((step + 1) % 50 === 0 || step + 1 === options.steps) {
      curve.push({ step: step + 1, loss: smoothed });
      const perStep = (performance.now() - started) / (step + 1);
      log(
        `step ${step + 1}/${options.steps}  loss ${smoothed.toFixed(4)}  ${perStep.toFixed(0)} ms/step  ETA ${Math.round((perStep * (options.steps - step - 1)) / 1000)} s`,
      );
    }
  }
  trainer.dispose();
  return {
    steps: options.steps,
    wallSeconds: (performance.now() - started) / 1000,
    finalLoss: smoothed,
    curve,
    assignment: assignment.assignment(),
  };
}
