import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import { sha256Digest } from '@transplant/core';
import {
  CATEGORY_IDS,
  SyntheticSet,
  objectCrop,
  type CategoryId,
  type ItemRef,
  type RenderedSample,
  type SampleCategory,
  type Split,
} from '@transplant/data';
import {
  explain,
  fidelity,
  imageTensor,
  type Explanation,
  type FilterReport,
  type GroupShare,
  type TalkShares,
} from './explain';
import { Explainer, performerOf, type ExplainedOutput } from './explainer';
import { renderGroupHeatmaps } from './pictures';
import { TRAINING_DEFAULTS, featurePool, poolScale, trainExplainer, type ExplainerCurve } from './train';

export interface ExplainRunOptions {
  readonly pool: number;
  /** Dev images (half the category) for the stopping rule and, in a dev run, the measured p (default 200). */
  readonly devPool?: number;
  /** The step cap. */
  readonly steps: number;
  /** The stopping rule (`ExplainerTraining.every/window/epsilon`; defaults: the library's). */
  readonly every?: number;
  readonly window?: number;
  readonly epsilon?: number;
  /** Adam's learning rate (default: the library's, 10⁻³). */
  readonly learningRate?: number;
  /** Weight of −log g (0: the gate stays at 0.5; docs/methods.md §5.3). */
  readonly eta: number;
  /** Weight of the decision term (`ExplainerTraining.decision`; default 1, 0: the paper's losses only). */
  readonly decision?: number;
  readonly filters: number;
  /** Annotated images of the category the explanation is computed on. */
  readonly images: number;
  /** Labelled images (half positives) for fidelity. */
  readonly test: number;
  /** Object crops (the papers' view) or whole scenes. */
  readonly crop: boolean;
  /** Force the river in the explanation images of the category (the diagnosis). */
  readonly riverInImages?: boolean;
  readonly seed: number;
  /** The output of a multi-class head that is explained (`PerformerOptions.output`; required when K ≥ 2). */
  readonly output?: number | string;
  /**
   * A final run (docs/protocol.md): p, the explanation and fidelity on the final-test images,
   * drawn under seed names nothing else uses. Otherwise they come from dev images, and the
   * result says so (`stream`).
   */
  readonly final?: boolean;
  readonly log?: (line: string) => void;
  /** Called after every training step with the step done and the smoothed reconstruction error. */
  readonly progress?: (step: number, error: number) => void;
  /**
   * Resumable training: the explainer's state is saved in `directory` every `every` steps and
   * a run killed before it finished resumes from it (inputs and back end must be the same).
   */
  readonly checkpoint?: {
    readonly directory: string;
    readonly every: number;
    readonly note?: (line: string) => void;
  };
  /** Return the trained explainer (the caller disposes it) instead of disposing it. */
  readonly keep?: boolean;
}

export interface ExplainRunResult {
  readonly name: string;
  readonly category: CategoryId;
  /** Which output of the head is explained, and how it is read as one logit. */
  readonly explained: ExplainedOutput;
  /** Which images p, the groups and fidelity were measured on. */
  readonly stream: 'dev' | 'final';
  /** The measured p (`Explainer.reconstructionShare`) on held-out images of `stream`. */
  readonly p: number;
  /** The reconstruction errors behind p (1 = predicting the mean). */
  readonly errors: { both: number; interpretable: number; ordinary: number; neither: number };
  /** The gate weight (0.5 unless η > 0). */
  readonly gate: number;
  /** Steps trained, and whether the stopping rule (not the cap) ended training. */
  readonly steps: number;
  readonly converged: boolean;
  readonly interpretableShare: number;
  readonly ordinaryShare: number;
  readonly groups: GroupShare[];
  /** The groups in the talk's form: parts, textures, background, not interpretable (`Explanation.talk`). */
  readonly talk: TalkShares;
  /** Every interpretable filter: its group, purity and contribution. */
  readonly filters: FilterReport[];
  readonly fidelity: { performer: number; explained: number };
  readonly curve: ExplainerCurve[];
  readonly settings: Omit<ExplainRunOptions, 'log' | 'progress' | 'keep' | 'checkpoint'>;
}

/** What an explainer's training depends on: a checkpoint made from other inputs is not resumed. */
function runFingerprint(name: string, category: CategoryId, options: ExplainRunOptions): string {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- how the run reports and keeps state does not change it
  const { log, progress, keep, checkpoint, ...settings } = options;
  const inputs = JSON.stringify({ name, category, settings, backend: tf.getBackend() });
  return sha256Digest(new TextEncoder().encode(inputs));
}

/** `count` items taken evenly over a list (a set's items come grouped by category). */
function spread<T>(items: readonly T[], count: number): T[] {
  const n = Math.min(count, items.length);
  return Array.from({ length: n }, (_, j) => items[Math.floor((j * items.length) / n)]!);
}

/** Half the category's items and half the rest, spread evenly over the other categories and backgrounds. */
function mixed(refs: readonly ItemRef[], category: CategoryId, count: number): ItemRef[] {
  const positives = refs.filter((r) => r.category === category).slice(0, Math.ceil(count / 2));
  return [
    ...positives,
    ...spread(
      refs.filter((r) => r.category !== category),
      Math.floor(count / 2),
    ),
  ];
}

/** A mixed set's counts: enough of every category for `count` images, half of them the explained one. */
const mixedSet = (seed: string, size: number, split: Split, count: number) =>
  new SyntheticSet({
    seed,
    size,
    categories: CATEGORY_IDS,
    perCategory: { train: 0, dev: 0, test: 0, [split]: Math.ceil(count / 2) },
    negatives: { train: 0, dev: 0, test: 0, [split]: Math.ceil(count / 4) },
  });

const view =
  ({ crop }: { readonly crop: boolean }) =>
  (s: RenderedSample) =>
    crop && s.annotation.box ? objectCrop(s, s.width) : s;

/**
 * The whole explanation of a network's link, without labels: a pool of images as the
 * performer meets them (its category and everything else) through the frozen performer, an
 * explainer trained on it, the explanation on `images` annotated images of the category, and
 * fidelity on labelled ones. Returns the numbers, the group heat maps (PNG) and, if asked, the
 * trained explainer (the caller disposes it).
 */
export function explainPerformer(
  subject: {
    readonly network: Network;
    /** The network's name in the results (its registry reference). */
    readonly name: string;
    /** The category explained. */
    readonly category: CategoryId;
  },
  options: ExplainRunOptions,
): ExplainRunResult & { png: Buffer; explanation: Explanation; explainer?: Explainer } {
  const { network, name, category } = subject;
  const performer = performerOf(
    network,
    network.links[0]!,
    options.output === undefined ? {} : { output: options.output },
  );
  const size = network.module(network.links[0]!.category).ports.input.shape[1]!;
  const toView = view({ crop: options.crop });
  // The pool: the category and everything else, as the performer meets them; no labels are read.
  // The dev pool (same seed, dev split) decides when to stop; a dev run also measures p on it.
  const poolSet = mixedSet(`explainer-pool-${options.seed}`, size, 'train', options.pool);
  const poolImages = mixed(poolSet.items('train'), category, options.pool).map((r) =>
    toView(poolSet.render(r)),
  );
  const pool = featurePool(performer, (a, b) => imageTensor(poolImages.slice(a, b)), poolImages.length);
  const devCount = options.devPool ?? 200;
  const devSet = mixedSet(`explainer-pool-${options.seed}`, size, 'dev', devCount);
  const devImages = mixed(devSet.items('dev'), category, devCount).map((r) => toView(devSet.render(r)));
  const dev = featurePool(performer, (a, b) => imageTensor(devImages.slice(a, b)), devImages.length);
  // The held-out streams: dev images (a dev run) or the final test, under seed names used by no
  // decision (a final run). The former 'explainer-eval' test images guided development, so they
  // are not the final test any more.
  const stream = options.final ? 'final' : 'dev';
  const split: Split = options.final ? 'test' : 'dev';
  const names = options.final
    ? { measure: 'explainer-final-pool', eval: 'explainer-final-eval', test: 'explainer-final-test' }
    : { measure: null, eval: 'explainer-eval', test: 'explainer-test' };
  let held = dev;
  if (names.measure) {
    const set = mixedSet(names.measure, size, split, devCount);
    const images = mixed(set.items(split), category, devCount).map((r) => toView(set.render(r)));
    held = featurePool(performer, (a, b) => imageTensor(images.slice(a, b)), images.length);
  }
  const explainer = new Explainer(performer.xShape, performer.yShape, {
    filters: options.filters,
    mask: 'argmax',
    seed: options.seed,
    p0: 0.5,
  });
  explainer.scale = poolScale(pool);
  try {
    const trained = trainExplainer(
      {
        explainer,
        pool,
        dev,
        log: options.log ?? (() => undefined),
        ...(options.progress ? { progress: options.progress } : {}),
        upper: (y) => performer.upper(y),
        ...(options.checkpoint
          ? { checkpoint: { ...options.checkpoint, fingerprint: runFingerprint(name, category, options) } }
          : {}),
      },
      {
        ...TRAINING_DEFAULTS,
        steps: options.steps,
        eta: options.eta,
        decision: options.decision ?? 1,
        seed: options.seed,
        ...(options.learningRate ? { learningRate: options.learningRate } : {}),
        ...(options.every ? { every: options.every } : {}),
        ...(options.window ? { window: options.window } : {}),
        ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
      },
    );
    const curve = trained.curve;
    const { p, ...errors } = explainer.reconstructionShare(held.x, held.y);
    const riverFor: Partial<Record<SampleCategory, boolean>> | undefined =
      options.riverInImages === undefined ? undefined : { [category]: options.riverInImages };
    const evalSet = new SyntheticSet({
      seed: names.eval,
      size,
      categories: CATEGORY_IDS,
      perCategory: { train: 0, dev: 0, test: 0, [split]: Math.max(options.images, options.test) },
      negatives: { train: 0, dev: 0, test: 0, [split]: options.test },
      ...(riverFor ? { rivers: riverFor } : {}),
    });
    const evalRefs = evalSet.items(split);
    const images = evalRefs
      .filter((r) => r.category === category)
      .slice(0, options.images)
      .map((r) => toView(evalSet.render(r)));
    const explanation = explain({ performer, explainer }, { samples: images, p });
    const cleanSet = new SyntheticSet({
      seed: names.test,
      size,
      categories: CATEGORY_IDS,
      perCategory: { train: 0, dev: 0, test: 0, [split]: options.test },
      negatives: { train: 0, dev: 0, test: 0, [split]: options.test },
    });
    const cleanRefs = cleanSet.items(split);
    const pos = cleanRefs.filter((r) => r.category === category).slice(0, Math.floor(options.test / 2));
    const negatives = cleanRefs.filter((r) => r.category !== category);
    const neg = spread(negatives, Math.floor(options.test / 2));
    const testImages = [...pos, ...neg].map((r) => toView(cleanSet.render(r)));
    const accuracy = fidelity(
      { performer, explainer },
      { samples: testImages, labels: [...pos.map(() => 1), ...neg.map(() => 0)] },
    );
    const png = renderGroupHeatmaps(explanation, {
      samples: images,
      geometry: performer.geometry,
      title: `${name}: interpretable filter groups (p = ${p.toFixed(2)}, ${stream} images)`,
    });
    const { log: _log, progress: _progress, keep: _keep, checkpoint: _checkpoint, ...settings } = options;
    return {
      name,
      category,
      explained: performer.explained,
      stream,
      p,
      errors,
      gate: explainer.gate(),
      steps: trained.steps,
      converged: trained.converged,
      interpretableShare: explanation.interpretableShare,
      ordinaryShare: explanation.ordinaryShare,
      groups: explanation.groups,
      talk: explanation.talk,
      filters: explanation.filters,
      fidelity: accuracy,
      curve,
      settings,
      png,
      explanation,
      ...(options.keep ? { explainer } : {}),
    };
  } finally {
    const pools = held === dev ? [pool, dev] : [pool, dev, held];
    tf.dispose(pools.flatMap((q) => [q.x, q.y, ...(q.logits ? [q.logits] : [])]));
    if (!options.keep) explainer.dispose();
  }
}
