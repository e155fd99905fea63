import type { TaskId } from '@transplant/core';
import {
  CATEGORY_IDS,
  Rng,
  SyntheticSet,
  renderBatch,
  type Batch,
  type CategoryId,
  type ItemRef,
  type SampleCategory,
  type Split,
} from '@transplant/data';
import { EVALUATION, IMAGE_SIZE, VALIDATION } from './zoo-spec';

/**
 * The zoo's data: an endless, seeded stream of fresh training images (no image is seen
 * twice, so there is nothing to overfit), and a fixed held-out test set. Every item depends
 * only on the seed, the network and the index, so a resumed run sees the same batches.
 */
export class ZooData {
  readonly set: SyntheticSet;

  constructor(
    readonly seed: number,
    readonly category: CategoryId,
    readonly task: TaskId,
  ) {
    this.set = new SyntheticSet({ seed: `zoo-${seed}`, size: IMAGE_SIZE, categories: [category] });
  }

  /** Other animals and plain backgrounds: the "rest" of "category vs. rest". */
  private negatives(): SampleCategory[] {
    return [...CATEGORY_IDS.filter((c) => c !== this.category), 'background'];
  }

  private ref(split: Split, category: SampleCategory, key: string): ItemRef {
    return { split, index: 0, category, seed: `zoo-${this.seed}:${split}:${category}:${key}` };
  }

  private mode() {
    return this.task === 'cls'
      ? ({ kind: 'binary', category: this.category } as const)
      : ({ kind: 'segmentation', category: this.category, withNegatives: true } as const);
  }

  /** Training batch number `step`: each item is a positive with probability `positives`. */
  trainBatch(step: number, batchSize: number, positives: number): Batch {
    const rng = new Rng(`zoo-${this.seed}:${this.category}-${this.task}:step:${step}`);
    const others = this.negatives();
    const refs = Array.from({ length: batchSize }, (_, i) => {
      const category = rng.chance(positives) ? this.category : others[rng.int(0, others.length - 1)]!;
      return this.ref('train', category, `${step}-${i}`);
    });
    return renderBatch(this.set, refs, this.mode());
  }

  /** Held-out items of a split: positives, and negatives spread evenly over the other categories and backgrounds. */
  heldOutRefs(split: 'val' | 'test'): ItemRef[] {
    const counts = split === 'test' ? EVALUATION : VALIDATION;
    const others = this.negatives();
    const pos = Array.from({ length: counts.positives }, (_, k) => this.ref(split, this.category, String(k)));
    const neg = Array.from({ length: counts.negatives }, (_, k) =>
      this.ref(split, others[k % others.length]!, String(k)),
    );
    return [...pos, ...neg];
  }

  heldOutBatch(refs: readonly ItemRef[]): Batch {
    return renderBatch(this.set, refs, this.mode());
  }

  describe(): string {
    return `synthetic:v1 seed=zoo-${this.seed} size=${IMAGE_SIZE} ${this.category} vs. ${this.negatives().join(',')}; fresh training images per step; stopping rule on val ${VALIDATION.positives} + ${VALIDATION.negatives}; test ${EVALUATION.positives} positives + ${EVALUATION.negatives} negatives`;
  }
}
