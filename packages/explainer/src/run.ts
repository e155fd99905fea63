import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import {
  CATEGORY_IDS,
  SyntheticSet,
  objectCrop,
  type CategoryId,
  type RenderedSample,
  type SampleCategory,
} from '@transplant/data';
import {
  explain,
  fidelity,
  imageTensor,
  type Explanation,
  type FilterReport,
  type GroupShare,
} from './explain';
import { Explainer, performerOf } from './explainer';
import { renderGroupHeatmaps } from './pictures';
import { TRAINING_DEFAULTS, featurePool, trainExplainer, type ExplainerCurve } from './train';

export interface ExplainRunOptions {
  readonly pool: number;
  readonly steps: number;
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
  readonly log?: (line: string) => void;
  /** Return the trained explainer (the caller disposes it) instead of disposing it. */
  readonly keep?: boolean;
}

export interface ExplainRunResult {
  readonly name: string;
  readonly category: CategoryId;
  readonly p: number;
  readonly interpretableShare: number;
  readonly groups: GroupShare[];
  /** Every interpretable filter: its group, purity and contribution. */
  readonly filters: FilterReport[];
  readonly fidelity: { performer: number; explained: number };
  readonly curve: ExplainerCurve[];
  readonly settings: Omit<ExplainRunOptions, 'log' | 'keep'>;
}

/** `count` items taken evenly over a list (a set's items come grouped by category). */
function spread<T>(items: readonly T[], count: number): T[] {
  const n = Math.min(count, items.length);
  return Array.from({ length: n }, (_, j) => items[Math.floor((j * items.length) / n)]!);
}

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
  const performer = performerOf(network, network.links[0]!);
  const size = network.module(network.links[0]!.category).ports.input.shape[1]!;
  const toView = view({ crop: options.crop });
  // The pool: the category and everything else, as the performer meets them; no labels are read.
  const poolSet = new SyntheticSet({
    seed: `explainer-pool-${options.seed}`,
    size,
    categories: CATEGORY_IDS,
    perCategory: { train: Math.ceil(options.pool / 2), dev: 0, test: 0 },
    negatives: { train: Math.ceil(options.pool / 4), dev: 0, test: 0 },
  });
  const refs = poolSet.items('train');
  const positives = refs.filter((r) => r.category === category).slice(0, Math.ceil(options.pool / 2));
  const others = refs.filter((r) => r.category !== category);
  // The rest evenly over every other category and the backgrounds.
  const mixed = [...positives, ...spread(others, Math.floor(options.pool / 2))];
  const poolImages = mixed.map((r) => toView(poolSet.render(r)));
  const pool = featurePool(performer, (a, b) => imageTensor(poolImages.slice(a, b)), poolImages.length);
  const explainer = new Explainer(performer.xShape, performer.yShape, {
    filters: options.filters,
    mask: 'argmax',
    seed: options.seed,
    p0: 0.5,
  });
  try {
    const curve = trainExplainer(
      { explainer, pool, log: options.log ?? (() => undefined), upper: (y) => performer.upper(y) },
      {
        ...TRAINING_DEFAULTS,
        steps: options.steps,
        eta: options.eta,
        decision: options.decision ?? 1,
        seed: options.seed,
      },
    );
    const riverFor: Partial<Record<SampleCategory, boolean>> | undefined =
      options.riverInImages === undefined ? undefined : { [category]: options.riverInImages };
    const evalSet = new SyntheticSet({
      seed: 'explainer-eval',
      size,
      categories: CATEGORY_IDS,
      perCategory: { train: 0, dev: 0, test: Math.max(options.images, options.test) },
      negatives: { train: 0, dev: 0, test: options.test },
      ...(riverFor ? { rivers: riverFor } : {}),
    });
    const evalRefs = evalSet.items('test');
    const images = evalRefs
      .filter((r) => r.category === category)
      .slice(0, options.images)
      .map((r) => toView(evalSet.render(r)));
    const explanation = explain({ performer, explainer }, { samples: images });
    const cleanSet = new SyntheticSet({
      seed: 'explainer-test',
      size,
      categories: CATEGORY_IDS,
      perCategory: { train: 0, dev: 0, test: options.test },
      negatives: { train: 0, dev: 0, test: options.test },
    });
    const cleanRefs = cleanSet.items('test');
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
      title: `${name}: interpretable filter groups (p = ${explanation.p.toFixed(2)})`,
    });
    const { log: _log, keep: _keep, ...settings } = options;
    return {
      name,
      category,
      p: explanation.p,
      interpretableShare: explanation.interpretableShare,
      groups: explanation.groups,
      filters: explanation.filters,
      fidelity: accuracy,
      curve,
      settings,
      png,
      explanation,
      ...(options.keep ? { explainer } : {}),
    };
  } finally {
    tf.dispose([pool.x, pool.y, ...(pool.logits ? [pool.logits] : [])]);
    if (!options.keep) explainer.dispose();
  }
}
