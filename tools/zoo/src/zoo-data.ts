import type { TaskId } from '@transplant/core';
import { CategoryVsRest, type CategoryId } from '@transplant/data';
import { EVALUATION, IMAGE_SIZE, VALIDATION } from './zoo-spec';

/**
 * The zoo's data: the category-vs-rest recipe on the zoo's own image stream (fresh training
 * images every step, so there is nothing to overfit) at the zoo's image size. Every item
 * depends only on the seed, the network and the index, so a resumed run sees the same batches.
 */
export function zooData(options: {
  readonly seed: number;
  readonly category: CategoryId;
  readonly task: TaskId;
  /** A final run (docs/protocol.md): the test split may be read. */
  readonly finalTest?: boolean;
}): CategoryVsRest {
  const { seed, category, task, finalTest } = options;
  return new CategoryVsRest({
    stream: 'zoo',
    seed,
    categories: [category],
    size: IMAGE_SIZE,
    task,
    trainStream: `${category}-${task}`,
    ...(finalTest ? { finalTest } : {}),
  });
}

/** The held-out counts of a split: dev (the stopping rule and the card), the final test. */
export const heldOutCounts = (split: 'dev' | 'test') => (split === 'test' ? EVALUATION : VALIDATION);

/** The data line of a zoo card. */
export function describeZooData(data: CategoryVsRest): string {
  return `synthetic:v1 seed=zoo-${data.options.seed} size=${IMAGE_SIZE} ${data.category} vs. ${data.rest().join(',')}; fresh training images per step; stopping rule on dev ${VALIDATION.positives} + ${VALIDATION.negatives}; final test ${EVALUATION.positives} positives + ${EVALUATION.negatives} negatives`;
}
