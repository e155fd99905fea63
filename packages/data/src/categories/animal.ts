import type { PartName } from '../parts';
import type { Rng } from '../render/rng';
import type { Shape } from '../render/shapes';

export type Rgb = readonly [number, number, number];

export type Texture =
  | { readonly kind: 'plain' }
  | {
      readonly kind: 'stripes';
      readonly colour: Rgb;
      readonly width: number;
      readonly spacing: number;
      readonly angle: number;
    }
  | { readonly kind: 'spots'; readonly colour: Rgb; readonly radius: number; readonly density: number };

/** One visible piece of an animal, in its local frame (torso centre at 0, facing +x, y down, torso ≈ 1 long). */
export interface BodyPart {
  readonly part: PartName;
  readonly shapes: readonly Shape[];
  readonly colour: Rgb;
  /** Coat texture drawn over it (clipped to its shapes). */
  readonly texture: Texture;
}

/** A category of the synthetic set: draws a random individual as body parts in drawing order. */
export interface AnimalSpec {
  readonly id: string;
  readonly description: string;
  /** The parts this category has (a subset of PART_NAMES). */
  readonly parts: readonly PartName[];
  /** Drawing scale relative to the other categories (a bird's body units are smaller). */
  readonly relativeSize?: number;
  build(rng: Rng): readonly BodyPart[];
}

export function shade(c: Rgb, factor: number): Rgb {
  return [Math.min(255, c[0] * factor), Math.min(255, c[1] * factor), Math.min(255, c[2] * factor)];
}

export function jitter(rng: Rng, c: Rgb, amount: number): Rgb {
  return c.map((v) => Math.max(0, Math.min(255, v + rng.uniform(-amount, amount)))) as unknown as Rgb;
}

/** Coat colours shared across categories, so that colour alone never names the animal. */
export const COATS = {
  black: [40, 36, 34],
  white: [232, 228, 220],
  grey: [128, 126, 124],
  brown: [120, 78, 44],
  tan: [190, 150, 100],
  orange: [214, 128, 52],
  golden: [210, 170, 90],
  chestnut: [140, 64, 34],
  cream: [236, 222, 190],
} as const satisfies Record<string, Rgb>;

export type CoatName = keyof typeof COATS;

export function pickTexture(rng: Rng, options: { stripes?: number; spots?: number }, base: Rgb): Texture {
  const r = rng.next();
  const stripes = options.stripes ?? 0;
  const spots = options.spots ?? 0;
  const contrast: Rgb = rng.chance(0.5) ? shade(base, 0.45) : shade(base, 1.6);
  if (r < stripes) {
    return {
      kind: 'stripes',
      colour: contrast,
      width: rng.uniform(0.03, 0.06),
      spacing: rng.uniform(0.09, 0.16),
      angle: rng.uniform(1.2, 1.9),
    };
  }
  if (r < stripes + spots) {
    return {
      kind: 'spots',
      colour: rng.chance(0.7) ? COATS.black : contrast,
      radius: rng.uniform(0.05, 0.12),
      density: rng.uniform(0.3, 0.6),
    };
  }
  return { kind: 'plain' };
}
