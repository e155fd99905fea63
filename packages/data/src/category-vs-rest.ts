import * as tf from '@tensorflow/tfjs';
import { TASKS, TransplantError, type TaskId } from '@transplant/core';
import type { SampleCategory } from './annotation';
import { disposeBatch, renderBatch, type Batch, type BatchMode } from './batches';
import { CATEGORY_IDS, type CategoryId } from './categories';
import { Rng } from './render/rng';
import { SyntheticSet, type ItemRef, type Split } from './synthetic-set';

export interface CategoryVsRestOptions {
  /**
   * Names the image stream: every image's seed starts with `${stream}-${seed}`, so two
   * streams (the zoo's, a transplant's, an experiment's) never share an image.
   */
  readonly stream: string;
  readonly seed: number;
  /** One category: it against the other animals and plain backgrounds. Several: one class each plus background. */
  readonly categories: readonly CategoryId[];
  /** Image side in pixels. */
  readonly size: number;
  /** What the batches are labelled for (default cls): 1/0 labels (a class index for several categories) or masks. */
  readonly task?: TaskId;
  /** Each image is its object's crop (`objectCrop`, the papers' view) instead of the whole scene. */
  readonly crop?: boolean;
  /** Force the background river in or out per category (see SyntheticSetOptions.rivers). */
  readonly rivers?: Partial<Record<SampleCategory, boolean>>;
  /** Names the training batches' random draw (default: the categories joined by '+'). */
  readonly trainStream?: string;
  /**
   * A final run (docs/protocol.md): only then may the test split be read. Without it, asking
   * for a test item is an `E_PROTOCOL` error, so a decision can never see the final test.
   */
  readonly finalTest?: boolean;
}

/**
 * The seed name of each split's images. The final test is drawn under a name no run before
 * the protocol used, so no image in it informed an earlier decision; dev keeps the former
 * validation images (the zoo's stopping rule); the images formerly called test are retired.
 */
export const CATEGORY_VS_REST_SEED_NAMES: Readonly<Record<Split, string>> = {
  train: 'train',
  dev: 'val',
  test: 'final',
};

/** How many positives and negatives a held-out split holds. */
export interface HeldOutCounts {
  readonly positives: number;
  readonly negatives: number;
}

/**
 * The one data recipe of training and evaluation: an endless, seeded stream of fresh training
 * images (no image is seen twice, so there is nothing to overfit) and fixed held-out items.
 * Every item depends only on the stream, the seed, the split, its category and its index, so
 * a resumed run sees the same batches and every split is disjoint from the others.
 *
 * The "rest" of one category is the other animals and plain backgrounds; with several
 * categories it is the background class (labelled last).
 */
export class CategoryVsRest {
  readonly set: SyntheticSet;
  readonly categories: readonly CategoryId[];
  readonly size: number;
  readonly task: TaskId;

  constructor(readonly options: CategoryVsRestOptions) {
    if (options.categories.length === 0) throw new RangeError('CategoryVsRest needs at least one category');
    this.categories = [...options.categories];
    this.size = options.size;
    this.task = options.task ?? 'cls';
    this.batchMode(this.task);
    this.set = new SyntheticSet({
      seed: `${options.stream}-${options.seed}`,
      size: options.size,
      categories: [...options.categories],
      ...(options.rivers ? { rivers: options.rivers } : {}),
    });
  }

  /** One category (category vs. other animals and backgrounds) rather than several (vs. background). */
  get single(): boolean {
    return this.categories.length === 1;
  }

  /** The category of a single-category recipe. */
  get category(): CategoryId {
    if (!this.single) throw new RangeError(`${this.categories.join('+')} is not one category`);
    return this.categories[0]!;
  }

  private batchMode(task: TaskId): BatchMode {
    if (!this.single) {
      if (TASKS[task].batchMode !== 'binary')
        throw new RangeError(`several categories are labelled per image; ${task} needs one category`);
      return { kind: 'multiclass' };
    }
    const category = this.categories[0]!;
    const kind = TASKS[task].batchMode;
    switch (kind) {
      case 'binary':
        return { kind: 'binary', category };
      case 'segmentation':
        return { kind: 'segmentation', category, withNegatives: true };
      default: {
        const unreachable: never = kind;
        return unreachable;
      }
    }
  }

  /** The negatives' categories: other animals and backgrounds (one category), or backgrounds (several). */
  rest(): SampleCategory[] {
    return this.single
      ? [...CATEGORY_IDS.filter((c) => c !== this.categories[0]), 'background']
      : ['background'];
  }

  private ref(split: Split, category: SampleCategory, key: string): ItemRef {
    const { stream, seed } = this.options;
    if (split === 'test' && !this.options.finalTest)
      throw new TransplantError(
        'E_PROTOCOL',
        `${stream} asked for final-test images outside a final run: evaluate on the dev split, or pass --final for the one final reading`,
        { operation: 'CategoryVsRest' },
      );
    const name = CATEGORY_VS_REST_SEED_NAMES[split];
    return { split, index: 0, category, seed: `${stream}-${seed}:${name}:${category}:${key}` };
  }

  /**
   * Training batch number `step`. One category: each item is a positive with probability
   * `positives`, else one of the rest drawn uniformly. Several: each category and the
   * background equally likely.
   */
  trainBatch(step: number, batchSize: number, positives: number): Batch {
    const { stream, seed } = this.options;
    const rng = new Rng(
      `${stream}-${seed}:${this.options.trainStream ?? this.categories.join('+')}:step:${step}`,
    );
    const rest = this.rest();
    const refs = Array.from({ length: batchSize }, (_, i) => {
      let category: SampleCategory;
      if (this.single)
        category = rng.chance(positives) ? this.categories[0]! : rest[rng.int(0, rest.length - 1)]!;
      else {
        const k = rng.int(0, this.categories.length);
        category = k === this.categories.length ? 'background' : this.categories[k]!;
      }
      return this.ref('train', category, `${step}-${i}`);
    });
    return this.batch(refs);
  }

  /** `count` items of each category in `split`. */
  positives(split: Split, count: number): ItemRef[] {
    return this.categories.flatMap((c) =>
      Array.from({ length: count }, (_, k) => this.ref(split, c, String(k))),
    );
  }

  /** `count` items of the rest in `split`, spread evenly over its categories in turn. */
  negatives(split: Split, count: number): ItemRef[] {
    const rest = this.rest();
    return Array.from({ length: count }, (_, k) => this.ref(split, rest[k % rest.length]!, String(k)));
  }

  /** A held-out split: the positives (of each category), then the negatives. */
  heldOut(split: Split, counts: HeldOutCounts): ItemRef[] {
    return [...this.positives(split, counts.positives), ...this.negatives(split, counts.negatives)];
  }

  /** The items rendered into one batch, labelled for the recipe's task (or `task`). */
  batch(refs: readonly ItemRef[], task: TaskId = this.task): Batch {
    return renderBatch(this.set, refs, { mode: this.batchMode(task), crop: this.options.crop ?? false });
  }

  /** Only the images and the task's targets (1/0 labels, or masks empty on negatives); an empty list gives empty tensors. */
  imagesAndTargets(
    refs: readonly ItemRef[],
    task: TaskId = this.task,
  ): { images: tf.Tensor4D; targets: tf.Tensor } {
    const behaviour = TASKS[task];
    if (refs.length === 0)
      return {
        images: tf.zeros([0, this.size, this.size, 3]) as tf.Tensor4D,
        targets: tf.zeros(behaviour.targetShape(0, this.size)),
      };
    const batch = this.batch(refs, task);
    const out = { images: batch.images.clone(), targets: batch[behaviour.target].clone() };
    disposeBatch(batch);
    return out;
  }

  /** The filter-assignment class of an item's category: its index, −1 for the rest. */
  classOf(category: SampleCategory): number {
    return category === 'background' ? -1 : this.categories.indexOf(category);
  }

  /** Each class's share of the training images. */
  shares(positives: number): number[] {
    return this.single ? [positives] : this.categories.map(() => 1 / (this.categories.length + 1));
  }
}
