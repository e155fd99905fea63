import type { RenderedSample } from './render/render-sample';
import { SampleRenderer } from './render/render-sample';
import { CATEGORY_IDS, type CategoryId } from './categories';
import type { SampleCategory } from './annotation';

/**
 * The three image streams of docs/protocol.md: train (fitting), dev (every decision) and test
 * (the final test, read only by a final run).
 */
export const SPLITS = ['train', 'dev', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/**
 * The name each split's images are seeded under. The dev split keeps the images of the split
 * formerly called `val`, so that sets drawn before the protocol render the same images.
 */
export const SPLIT_SEED_NAMES: Readonly<Record<Split, string>> = { train: 'train', dev: 'val', test: 'test' };

export type SplitCounts = Readonly<Record<Split, number>>;

export interface SyntheticSetOptions {
  /** Everything rendered depends only on this seed (and the other options). */
  readonly seed: string | number;
  /** Image side in pixels (64 and 96 are the defaults the zoo uses). */
  readonly size?: number;
  readonly categories?: readonly CategoryId[];
  /** Images per category and split. */
  readonly perCategory?: Partial<SplitCounts>;
  /** Background-only negatives per split. */
  readonly negatives?: Partial<SplitCounts>;
  /**
   * Force the background river in (true) or out (false) per sample category ('background' for
   * negatives); unlisted categories keep the default (35 % of scenes). Makes a background object
   * correlate with a category, to test what a network learned.
   */
  readonly rivers?: Partial<Record<SampleCategory, boolean>>;
}

export interface ItemRef {
  readonly split: Split;
  readonly index: number;
  readonly category: SampleCategory;
  /** The seed of this one image: it can be rendered alone, in any order. */
  readonly seed: string;
}

export const SYNTHETIC_SET_VERSION = 'synthetic:v1';

/**
 * The synthetic part-annotated image set: per split, every category's images then the
 * background negatives. Items are rendered on demand and are reproducible one by one.
 */
export class SyntheticSet {
  readonly size: number;
  readonly categories: readonly CategoryId[];
  readonly perCategory: SplitCounts;
  readonly negatives: SplitCounts;
  private renderer: SampleRenderer | undefined;

  constructor(readonly options: SyntheticSetOptions) {
    this.size = options.size ?? 64;
    this.categories = options.categories ?? CATEGORY_IDS;
    const unknown = this.categories.filter((c) => !CATEGORY_IDS.includes(c));
    if (unknown.length > 0)
      throw new RangeError(`unknown categories ${unknown.join(', ')}; known: ${CATEGORY_IDS.join(', ')}`);
    this.perCategory = { train: 200, dev: 50, test: 100, ...options.perCategory };
    this.negatives = { train: 200, dev: 50, test: 100, ...options.negatives };
  }

  /** A label naming exactly this set, for manifests' provenance. */
  describe(): string {
    return `${SYNTHETIC_SET_VERSION} seed=${this.options.seed} size=${this.size} categories=${this.categories.join(',')} per-category=${JSON.stringify(this.perCategory)} negatives=${JSON.stringify(this.negatives)}${this.options.rivers ? ` rivers=${JSON.stringify(this.options.rivers)}` : ''}`;
  }

  length(split: Split): number {
    return this.categories.length * this.perCategory[split] + this.negatives[split];
  }

  item(split: Split, index: number): ItemRef {
    if (!Number.isInteger(index) || index < 0 || index >= this.length(split)) {
      throw new RangeError(`${split} has ${this.length(split)} items; index ${index} is outside`);
    }
    const per = this.perCategory[split];
    const c = Math.floor(index / Math.max(per, 1));
    const category: SampleCategory =
      per > 0 && c < this.categories.length ? this.categories[c]! : 'background';
    const k = category === 'background' ? index - this.categories.length * per : index - c * per;
    return {
      split,
      index,
      category,
      seed: `${this.options.seed}:${SPLIT_SEED_NAMES[split]}:${category}:${k}`,
    };
  }

  items(split: Split): ItemRef[] {
    return Array.from({ length: this.length(split) }, (_, i) => this.item(split, i));
  }

  render(ref: ItemRef): RenderedSample {
    this.renderer ??= new SampleRenderer(this.size);
    const river = this.options.rivers?.[ref.category];
    return this.renderer.render(ref.category, ref.seed, river === undefined ? {} : { river });
  }
}
