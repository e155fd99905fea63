import * as tf from '@tensorflow/tfjs';

/**
 * Which category each filter of an interpretable layer belongs to in multi-category training
 * (docs/methods.md §2.6, the authors' `sliceMag`): per class, a running average (factor 0.9,
 * initial floor 0.1) of the mean over that class's images of the filter's maximum activation;
 * each filter goes to the class where that average is largest relative to its mean over the
 * classes. One deviation: each class takes at most ⌈filters / classes⌉ filters (the strongest
 * preferences are served first). Without the cap (and at a hand-built strength of 10⁻²), a
 * 64-filter layer started from a one-category backbone ended with every filter on two classes
 * (bird 51, cat 13) and the six-category network at chance (85.7 % error): nothing kept the
 * negative term from silencing the other categories' features. The authors' layers have 512
 * filters started from ImageNet features.
 * Positives of a filter are the images of its class; the positive and negative terms are
 * weighted 0.5/ρ_c and 0.5/(1 − ρ_c) with ρ_c the class's share of the training images
 * (1/#classes beyond 10).
 */
export class FilterAssignment {
  private readonly magnitude: Float32Array;

  constructor(
    readonly classes: number,
    readonly filters: number,
    /** Each class's share of the training images (ρ_c). */
    readonly shares: readonly number[],
  ) {
    if (shares.length !== classes) throw new RangeError(`need ${classes} class shares, got ${shares.length}`);
    this.magnitude = new Float32Array(classes * filters).fill(0.1);
  }

  /** Single-category training: every filter belongs to class 0 (the category), weights 1. */
  static single(filters: number): FilterAssignment {
    return new FilterAssignment(1, filters, [1]);
  }

  /** Folds one batch in: x [B, H, W, C] (the layer's input), labels the class of each image (−1: none, e.g. background). */
  update(x: tf.Tensor4D, labels: readonly number[]): void {
    if (this.classes === 1) return;
    const peaks = tf.tidy(() => tf.max(x, [1, 2]).dataSync() as Float32Array);
    for (let k = 0; k < this.classes; k++) {
      const rows = labels.flatMap((label, b) => (label === k ? [b] : []));
      if (rows.length === 0) continue;
      for (let f = 0; f < this.filters; f++) {
        let sum = 0;
        for (const b of rows) sum += peaks[b * this.filters + f]!;
        const i = k * this.filters + f;
        this.magnitude[i] = 0.9 * this.magnitude[i]! + 0.1 * (sum / rows.length);
      }
    }
  }

  /** The class of each filter. */
  assignment(): number[] {
    const F = this.filters;
    const K = this.classes;
    if (K === 1) return Array<number>(F).fill(0);
    const cap = Math.ceil(F / K);
    const preference: { f: number; k: number; score: number }[] = [];
    for (let f = 0; f < F; f++) {
      let mean = 0;
      for (let k = 0; k < K; k++) mean += this.magnitude[k * F + f]! / K;
      for (let k = 0; k < K; k++)
        preference.push({ f, k, score: this.magnitude[k * F + f]! / Math.max(mean, 1e-12) });
    }
    preference.sort((a, b) => b.score - a.score || a.f - b.f || a.k - b.k);
    const owner = Array<number>(F).fill(-1);
    const taken = Array<number>(K).fill(0);
    for (const { f, k } of preference) {
      if (owner[f] !== -1 || taken[k]! >= cap) continue;
      owner[f] = k;
      taken[k]!++;
    }
    return owner;
  }

  /** [B, C] 1/0: image b is of filter c's class. */
  positives(labels: readonly number[]): tf.Tensor2D {
    const owner = this.assignment();
    const values = new Float32Array(labels.length * this.filters);
    labels.forEach((label, b) =>
      owner.forEach((k, f) => (values[b * this.filters + f] = label === k ? 1 : 0)),
    );
    return tf.tensor2d(values, [labels.length, this.filters]);
  }

  /** The per-filter weights of the positive and negative terms. */
  weights(): { positive: tf.Tensor1D; negative: tf.Tensor1D } {
    if (this.classes === 1) return { positive: tf.ones([this.filters]), negative: tf.ones([this.filters]) };
    const share = (k: number) => (this.classes > 10 ? 1 / this.classes : this.shares[k]!);
    const owner = this.assignment();
    return {
      positive: tf.tensor1d(owner.map((k) => 0.5 / share(k))),
      negative: tf.tensor1d(owner.map((k) => 0.5 / (1 - share(k)))),
    };
  }
}
