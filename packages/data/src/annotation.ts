import type { CategoryId } from './categories';
import type { PartName } from './parts';

/** `background` marks negatives: scenes without an animal. */
export type SampleCategory = CategoryId | 'background';

export interface PartAnnotation {
  /** Visible pixels of the part (its mask), 0 when hidden. */
  readonly area: number;
  readonly visible: boolean;
  /** In pixels (x right, y down, pixel centres at +0.5); always on a pixel of the part's mask. */
  readonly centre: readonly [number, number] | null;
}

export interface Annotation {
  readonly category: SampleCategory;
  readonly width: number;
  readonly height: number;
  /** Tight box of the visible object mask, [x0, y0, x1, y1) in pixels; null for negatives. */
  readonly box: readonly [number, number, number, number] | null;
  /** Every part the category has, visible or not. */
  readonly parts: Partial<Record<PartName, PartAnnotation>>;
  readonly facing: 'left' | 'right' | null;
  /** Part of the animal lies outside the image. */
  readonly truncated: boolean;
  /** Something in front hides part of the animal. */
  readonly occluded: boolean;
}
