import type { CategoryId } from '@transplant/data';
import { partImages, type PartImages } from '@transplant/interpretable';

/**
 * The seeds of the object crops the graph workflows draw: the mining images, the background
 * scenes of the activation normaliser, the held-out test crops and the pool the K shots come
 * from. Every caller (CLI, experiments) uses these, so the same count draws the same images.
 */
export const GRAPH_IMAGE_SEEDS = {
  mine: 'graph-mine',
  negatives: 'graph-negatives',
  test: 'graph-test',
  shots: 'graph-shots',
} as const;

/** Images given as they are, or as a count of object crops drawn with a seed. */
export type ImageSource = PartImages | { readonly count: number; readonly seed: string };

/** The images of `source`: the given ones, or `count` object crops of `category` at `size` pixels. */
export function imagesOf(source: ImageSource, category: CategoryId, size: number): PartImages {
  return 'samples' in source
    ? source
    : partImages(category, { count: source.count, size, crop: true, seed: source.seed });
}
