import * as tf from '@tensorflow/tfjs';
import type { Annotation } from './annotation';
import type { CategoryId } from './categories';
import { objectCrop } from './object-crop';
import { PART_NAMES } from './parts';
import { Rng } from './render/rng';
import type { ItemRef, Split, SyntheticSet } from './synthetic-set';

/**
 * - `binary`: every item, label 1 for `category`, 0 for other animals and backgrounds;
 * - `multiclass`: every item, label = index in `set.categories`, backgrounds = categories.length;
 * - `segmentation`: items of `category` (and, with `withNegatives`, everything else with empty masks).
 */
export type BatchMode =
  | { readonly kind: 'binary'; readonly category: CategoryId }
  | { readonly kind: 'multiclass' }
  | { readonly kind: 'segmentation'; readonly category: CategoryId; readonly withNegatives?: boolean };

export interface Batch {
  /** [B, H, W, 3] float32 in [0, 1]. */
  readonly images: tf.Tensor4D;
  /** binary: [B] float32 0/1; multiclass: [B] int32. */
  readonly labels: tf.Tensor1D;
  /** [B, H, W, 1] float32: the object mask (1 on the animal's visible pixels). */
  readonly masks: tf.Tensor4D;
  /** [B, P, 3] float32: per part of PART_NAMES, (x / W, y / H, visible). */
  readonly parts: tf.Tensor3D;
  readonly annotations: readonly Annotation[];
  readonly refs: readonly ItemRef[];
}

export interface BatchOptions {
  readonly split: Split;
  readonly mode: BatchMode;
  readonly batchSize: number;
  /** Shuffle with this seed; omit for the set's order. */
  readonly shuffle?: string | number;
  /** Stop after this many items. */
  readonly limit?: number;
}

export function disposeBatch(batch: Batch): void {
  tf.dispose([batch.images, batch.labels, batch.masks, batch.parts]);
}

function select(set: SyntheticSet, options: BatchOptions): ItemRef[] {
  const mode = options.mode;
  let refs = set.items(options.split);
  if (mode.kind === 'segmentation' && !mode.withNegatives)
    refs = refs.filter((r) => r.category === mode.category);
  if (options.shuffle !== undefined) {
    const rng = new Rng(`shuffle:${options.shuffle}`);
    for (let i = refs.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [refs[i], refs[j]] = [refs[j]!, refs[i]!];
    }
  }
  return refs.slice(0, options.limit ?? refs.length);
}

function labelOf(set: SyntheticSet, mode: BatchMode, ref: ItemRef): number {
  switch (mode.kind) {
    case 'binary':
    case 'segmentation':
      return ref.category === mode.category ? 1 : 0;
    case 'multiclass':
      return ref.category === 'background' ? set.categories.length : set.categories.indexOf(ref.category);
    default: {
      const unreachable: never = mode;
      return unreachable;
    }
  }
}

/**
 * Renders the given items into one batch, labelled for `mode`. Items of any set with the
 * same image size can be mixed: an item renders from its category and seed alone. With
 * `crop`, each image is its object's crop (`objectCrop`, the papers' view).
 */
export function renderBatch(
  set: SyntheticSet,
  refs: readonly ItemRef[],
  options: {
    readonly mode: BatchMode;
    /** Each image its object's crop (default false). */
    readonly crop?: boolean;
  },
): Batch {
  const { mode } = options;
  const { size } = set;
  const pixels = size * size;
  const b = refs.length;
  const images = new Float32Array(b * pixels * 3);
  const masks = new Float32Array(b * pixels);
  const parts = new Float32Array(b * PART_NAMES.length * 3);
  const labels: number[] = [];
  const annotations: Annotation[] = [];
  refs.forEach((ref, i) => {
    const sample = options.crop ? objectCrop(set.render(ref), size) : set.render(ref);
    for (let p = 0; p < pixels * 3; p++) images[i * pixels * 3 + p] = sample.rgb[p]! / 255;
    const keep = mode.kind !== 'segmentation' || ref.category === mode.category;
    if (keep) for (let p = 0; p < pixels; p++) masks[i * pixels + p] = sample.labels[p]! > 0 ? 1 : 0;
    PART_NAMES.forEach((name, k) => {
      const a = sample.annotation.parts[name];
      if (a?.centre) parts.set([a.centre[0] / size, a.centre[1] / size, 1], (i * PART_NAMES.length + k) * 3);
    });
    labels.push(labelOf(set, mode, ref));
    annotations.push(sample.annotation);
  });
  return {
    images: tf.tensor4d(images, [b, size, size, 3]),
    labels: mode.kind === 'multiclass' ? tf.tensor1d(labels, 'int32') : tf.tensor1d(labels, 'float32'),
    masks: tf.tensor4d(masks, [b, size, size, 1]),
    parts: tf.tensor3d(parts, [b, PART_NAMES.length, 3]),
    annotations,
    refs: [...refs],
  };
}

/**
 * Renders the split batch by batch into tensors. The caller owns each batch and frees it
 * with `disposeBatch`; nothing else is kept, so tensor counts stay flat.
 */
export function* batches(set: SyntheticSet, options: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const refs = select(set, options);
  for (let start = 0; start < refs.length; start += options.batchSize) {
    yield renderBatch(set, refs.slice(start, start + options.batchSize), { mode: options.mode });
  }
}
