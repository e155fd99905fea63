import * as tf from '@tensorflow/tfjs';
import type { TaskId } from '@transplant/core';
import {
  CATEGORY_IDS,
  SyntheticSet,
  disposeBatch,
  renderBatch,
  type CategoryId,
  type ItemRef,
  type SampleCategory,
} from '@transplant/data';

/** How many negatives (other animals and backgrounds) every method sees; the paper's "negative images". */
export const NEGATIVES = 200;
export const HELD_OUT = { positives: 200, negatives: 200 } as const;

/**
 * The images of one transplant: N target images (annotated for OL; unlabeled for BD/KD),
 * negatives (other categories and plain backgrounds, whose "absent" label is known by
 * construction), and a held-out test set. All seeded, all rendered at the network's input size.
 */
export class TransplantData {
  readonly set: SyntheticSet;

  constructor(
    readonly seed: number,
    readonly category: CategoryId,
    readonly size: number,
  ) {
    this.set = new SyntheticSet({ seed: `transplant-${seed}`, size, categories: [category] });
  }

  private ref(split: 'train' | 'val' | 'test', category: SampleCategory, k: number): ItemRef {
    return { split, index: 0, category, seed: `transplant-${this.seed}:${split}:${category}:${k}` };
  }

  private others(): SampleCategory[] {
    return [...CATEGORY_IDS.filter((c) => c !== this.category), 'background'];
  }

  targets(count: number, split: 'train' | 'val' | 'test' = 'train'): ItemRef[] {
    return Array.from({ length: count }, (_, k) => this.ref(split, this.category, k));
  }

  negatives(count: number, split: 'train' | 'val' | 'test' = 'train'): ItemRef[] {
    const others = this.others();
    return Array.from({ length: count }, (_, k) => this.ref(split, others[k % others.length]!, k));
  }

  /** Images, and the task's targets (cls: 1/0 labels; seg: the category's mask, empty on negatives). */
  render(refs: readonly ItemRef[], task: TaskId): { images: tf.Tensor4D; targets: tf.Tensor } {
    if (refs.length === 0)
      return {
        images: tf.zeros([0, this.size, this.size, 3]) as tf.Tensor4D,
        targets: task === 'cls' ? tf.zeros([0]) : tf.zeros([0, this.size, this.size, 1]),
      };
    const batch = renderBatch(
      this.set,
      refs,
      task === 'cls'
        ? { kind: 'binary', category: this.category }
        : { kind: 'segmentation', category: this.category, withNegatives: true },
    );
    const out = {
      images: batch.images.clone(),
      targets: (task === 'cls' ? batch.labels : batch.masks).clone(),
    };
    disposeBatch(batch);
    return out;
  }

  describe(samples: number): string {
    return `synthetic:v1 seed=transplant-${this.seed} size=${this.size} ${this.category}: ${samples} target images, ${NEGATIVES} negatives (${this.others().join(',')}); test ${HELD_OUT.positives} + ${HELD_OUT.negatives}`;
  }
}
