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

/** The coat textures the synthetic renderer draws; a coat without one is plain (no texture region). */
export const TEXTURE_KINDS = ['stripes', 'spots'] as const;
export type TextureKind = (typeof TEXTURE_KINDS)[number];

/** One coat texture of an animal: the coat it is drawn over, on one or more of its body parts. */
export interface TextureRegion {
  readonly kind: TextureKind;
  /** The parts whose coat carries it (a texture is drawn part by part, clipped to each). */
  readonly parts: readonly PartName[];
  /** Visible pixels of the textured coat (its label in `TextureAnnotation.regions`: index + 1). */
  readonly area: number;
  /** Visible pixels its marks (the stripes, the spots) cover. */
  readonly markArea: number;
}

/**
 * Where the coat textures of a synthetic image are, from the geometry the renderer drew (each
 * stripe's stroke, each spot's ellipse, clipped to its part), sampled at pixel centres like the
 * part masks; what hides a part (a later part, something in front) hides its texture too.
 * Only synthetic images have it: CUB and the photo sets have no texture annotation.
 */
export interface TextureAnnotation {
  /** Per pixel: 0 where no textured coat shows (background, plain coat, occluders), else a region's index + 1. */
  readonly regions: Uint8Array;
  /** Per pixel: 1 where a texture's mark covers the pixel (always inside a region), else 0. */
  readonly marks: Uint8Array;
  readonly list: readonly TextureRegion[];
}
