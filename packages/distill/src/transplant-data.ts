import type { TaskId } from '@transplant/core';
import { CategoryVsRest, type CategoryId } from '@transplant/data';

/** How many negatives (other animals and backgrounds) every method sees; the paper's "negative images". */
export const NEGATIVES = 200;
export const HELD_OUT = { positives: 200, negatives: 200 } as const;

export interface TransplantDataOptions {
  readonly seed: number;
  /** The target category (the rest are the negatives). */
  readonly category: CategoryId;
  /** The network's input size. */
  readonly size: number;
  readonly task: TaskId;
  /** A final run (docs/protocol.md): the test split may be read. */
  readonly finalTest?: boolean;
}

/**
 * The images of one transplant: the category-vs-rest recipe on the transplants' own stream, at
 * the network's input size — N target images (annotated for OL; unlabeled for BD/KD),
 * negatives (other categories and plain backgrounds, whose "absent" label is known by
 * construction), and a held-out test set.
 */
export function transplantData(options: TransplantDataOptions): CategoryVsRest {
  const { seed, category, size, task, finalTest } = options;
  return new CategoryVsRest({
    stream: 'transplant',
    seed,
    categories: [category],
    size,
    task,
    ...(finalTest ? { finalTest } : {}),
  });
}

/** The data line of a transplant's card and report. */
export function describeTransplantData(data: CategoryVsRest, samples: number): string {
  const split = data.options.finalTest ? 'final test' : 'dev';
  return `synthetic:v1 seed=transplant-${data.options.seed} size=${data.size} ${data.category}: ${samples} target images, ${NEGATIVES} negatives (${data.rest().join(',')}); ${split} ${HELD_OUT.positives} + ${HELD_OUT.negatives}`;
}
