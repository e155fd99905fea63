import type { CategoryId } from '@transplant/data';
import { partImages, type PartImages } from '@transplant/interpretable';

/** Images given as they are, or as a count of object crops drawn with a seed. */
export type ImageSource = PartImages | { readonly count: number; readonly seed: string };

/** The images of `source`: the given ones, or `count` object crops of `category` at `size` pixels. */
export function imagesOf(source: ImageSource, category: CategoryId, size: number): PartImages {
  return 'samples' in source
    ? source
    : partImages(category, { count: source.count, size, crop: true, seed: source.seed });
}
