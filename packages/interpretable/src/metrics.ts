import type { CellGeometry } from './layer-probe';

/** Feature maps of N images as one typed array, [N, h, w, C] row-major (a tensor's `dataSync()`). */
export interface FeatureMaps {
  readonly values: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** Per image and filter: the cell of the maximum activation (first on ties) and that maximum. */
export function peaks(maps: FeatureMaps): { cell: Int32Array; score: Float32Array } {
  const [n, h, w, c] = maps.shape;
  const cell = new Int32Array(n * c);
  const score = new Float32Array(n * c).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      const base = (i * h * w + p) * c;
      for (let f = 0; f < c; f++) {
        const v = maps.values[base + f]!;
        if (v > score[i * c + f]!) {
          score[i * c + f] = v;
          cell[i * c + f] = p;
        }
      }
    }
  }
  return { cell, score };
}

export interface InstabilityOptions {
  /** Images ranked by the filter's peak; the top N with the landmark visible are used (ICNN: 100). */
  readonly topN: number;
  /**
   * A filter counts in `mean` only if it fires (peak > 0) on at least this many images
   * (default: topN, so that its top-N images are all real firings).
   */
  readonly minFiring?: number;
  /** Distances are divided by this (the image diagonal, √(W² + H²)). */
  readonly diagonal: number;
}

export interface InstabilityResult {
  /** Per filter; NaN where it never fired on two images with a landmark. */
  readonly perFilter: number[];
  /** Mean over the active filters (those firing on at least `minFiring` images). */
  readonly mean: number;
  /** Active filters (the ones `mean` is over). */
  readonly active: number;
  /** Mean over every filter with a value, active or not. */
  readonly meanAll: number;
  /** Filters without a value (they fired on fewer than two images that show a landmark). */
  readonly silent: number;
  /** Per filter, whether it is active (fires on at least `minFiring` images and has a value). */
  readonly activeFilters: boolean[];
}

/**
 * Location instability (docs/methods.md §1.3): for filter f, its inferred position in image I is
 * the image position of its peak cell; per landmark k, d_I = ‖p_k(I) − p̂_f(I)‖ / diagonal over
 * the top-N images by the filter's peak that show landmark k; the filter's instability is
 * the mean over landmarks of the standard deviation (N − 1 denominator) of d_I. Images where
 * the filter does not fire (peak ≤ 0) have no position and are skipped — a silent map's
 * "peak" would be its first cell every time (MATLAB's `max` and ours alike), a spurious perfect
 * stability that would reward filters for falling silent. The layer's number (`mean`) is over
 * the active filters, those firing on at least `minFiring` images (default N): a filter that
 * fires on a handful of the category's images has no top-N to be stable over. `meanAll`
 * counts every filter with two firing images.
 * landmarks[k][i] is landmark k's [x, y] in image i, or null when hidden.
 */
export function locationInstability(
  maps: FeatureMaps,
  geometry: CellGeometry,
  landmarks: readonly (readonly (readonly [number, number] | null)[])[],
  options: InstabilityOptions,
): InstabilityResult {
  const [n, , w, c] = maps.shape;
  const { cell, score } = peaks(maps);
  const perFilter: number[] = [];
  const firing: number[] = [];
  for (let f = 0; f < c; f++) {
    const order = Array.from({ length: n }, (_, i) => i)
      .filter((i) => score[i * c + f]! > 0)
      .sort((a, b) => score[b * c + f]! - score[a * c + f]! || a - b);
    firing.push(order.length);
    perFilter.push(
      unitInstability(
        order,
        (i) => {
          const at = cell[i * c + f]!;
          return [
            geometry.scale * (at % w) + geometry.offset,
            geometry.scale * Math.floor(at / w) + geometry.offset,
          ];
        },
        landmarks,
        options,
      ),
    );
  }
  const average = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);
  const valid = perFilter.filter((v) => !Number.isNaN(v));
  const minFiring = options.minFiring ?? options.topN;
  const activeFilters = perFilter.map((v, f) => !Number.isNaN(v) && firing[f]! >= minFiring);
  const active = perFilter.filter((_, f) => activeFilters[f]);
  return {
    perFilter,
    activeFilters,
    mean: average(active),
    active: active.length,
    meanAll: average(valid),
    silent: c - valid.length,
  };
}

/**
 * One unit's location instability (docs/methods.md §1.3) from its images ranked by score (best
 * first, only those where it fires) and its inferred position [x, y] in each: per landmark,
 * the std (N − 1 denominator) of the landmark-to-position distance / diagonal over the first
 * `topN` ranked images showing the landmark; the mean over landmarks. NaN when no landmark has
 * two such images. Shared by filters (peak cells) and explanatory-graph nodes.
 */
export function unitInstability(
  order: readonly number[],
  position: (i: number) => readonly [number, number],
  landmarks: readonly (readonly (readonly [number, number] | null)[])[],
  options: { topN: number; diagonal: number },
): number {
  const stds: number[] = [];
  for (const points of landmarks) {
    const d: number[] = [];
    for (const i of order) {
      const p = points[i];
      if (!p) continue;
      const [x, y] = position(i);
      d.push(Math.hypot(p[0] - x, p[1] - y) / options.diagonal);
      if (d.length === options.topN) break;
    }
    if (d.length < 2) continue;
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    stds.push(Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1)));
  }
  return stds.length === 0 ? NaN : stds.reduce((s, v) => s + v, 0) / stds.length;
}

/** The q-quantile (0…1) of a filter's values over all images and cells (linear interpolation). */
export function filterQuantile(maps: FeatureMaps, f: number, q: number): number {
  const [n, h, w, c] = maps.shape;
  const values = new Float32Array(n * h * w);
  for (let j = 0; j < values.length; j++) values[j] = maps.values[j * c + f]!;
  values.sort();
  const at = q * (values.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, values.length - 1);
  return values[lo]! + (values[hi]! - values[lo]!) * (at - lo);
}

/**
 * One filter's map of image i upsampled bilinearly to the image, [H·W] row-major: cell centres
 * sit at their image positions (`geometry`), values are clamped at the borders.
 */
export function upsampleMap(maps: FeatureMaps, i: number, f: number, geometry: CellGeometry): Float32Array {
  const [, h, w, c] = maps.shape;
  const [H, W] = geometry.imageSize;
  const base = i * h * w * c;
  const at = (r: number, col: number) => maps.values[base + (r * w + col) * c + f]!;
  const out = new Float32Array(H * W);
  const src = (p: number, n: number) =>
    Math.min(Math.max((p + 0.5 - geometry.offset) / geometry.scale, 0), n - 1);
  const cols = Array.from({ length: W }, (_, x) => src(x, w));
  for (let y = 0; y < H; y++) {
    const sy = src(y, h);
    const r0 = Math.floor(sy);
    const r1 = Math.min(r0 + 1, h - 1);
    const ty = sy - r0;
    for (let x = 0; x < W; x++) {
      const sx = cols[x]!;
      const c0 = Math.floor(sx);
      const c1 = Math.min(c0 + 1, w - 1);
      const tx = sx - c0;
      out[y * W + x] =
        (1 - ty) * ((1 - tx) * at(r0, c0) + tx * at(r0, c1)) + ty * ((1 - tx) * at(r1, c0) + tx * at(r1, c1));
    }
  }
  return out;
}

/** `upsampleMap` thresholded: 1 where the activation exceeds `threshold`. */
export function upsampledMask(
  maps: FeatureMaps,
  i: number,
  f: number,
  geometry: CellGeometry,
  threshold: number,
): Uint8Array {
  const map = upsampleMap(maps, i, f, geometry);
  // A plain loop: Uint8Array.from with a mapping function is ~20× slower at 224 px × 576 filters.
  const out = new Uint8Array(map.length);
  for (let k = 0; k < map.length; k++) out[k] = map[k]! > threshold ? 1 : 0;
  return out;
}

export interface InterpretabilityOptions {
  /** The activation quantile that binarises each filter's maps (Network Dissection: 0.995). */
  readonly quantile: number;
  /** An image counts for part k when IoU(filter region, part k) exceeds this (0.2). */
  readonly iou: number;
}

export interface InterpretabilityResult {
  /** Per filter: its best part (a label of `labels`) and P_{f,k} for that part. */
  readonly perFilter: { readonly part: number; readonly score: number }[];
  /** Mean of the per-filter scores. */
  readonly mean: number;
}

/**
 * Part interpretability (docs/methods.md §1.4): filter f's maps are binarised at its activation
 * quantile T_f (over all images and cells), upsampled to the image; per image showing part k
 * (label k in the image's label map), IoU of that region with the part's mask;
 * P_{f,k} = share of those images with IoU > 0.2. A filter's interpretability is max_k P_{f,k}
 * (its part is the argmax); the layer's is the mean over filters. Images where part k is
 * hidden do not count for k. `labels` lists the part labels to score.
 */
export function partInterpretability(
  maps: FeatureMaps,
  geometry: CellGeometry,
  labelMaps: readonly Uint8Array[],
  labels: readonly number[],
  options: InterpretabilityOptions,
): InterpretabilityResult {
  const [n, , , c] = maps.shape;
  const maxLabel = Math.max(0, ...labels) + 1;
  const areas = labelMaps.map((map) => {
    const area = new Int32Array(maxLabel);
    for (const v of map) if (v < maxLabel) area[v]!++;
    return area;
  });
  const perFilter: { part: number; score: number }[] = [];
  for (let f = 0; f < c; f++) {
    const threshold = filterQuantile(maps, f, options.quantile);
    const hits = new Float64Array(maxLabel);
    const shown = new Float64Array(maxLabel);
    for (let i = 0; i < n; i++) {
      const region = upsampledMask(maps, i, f, geometry, threshold);
      const map = labelMaps[i]!;
      const inter = new Int32Array(maxLabel);
      let on = 0;
      for (let p = 0; p < region.length; p++) {
        if (!region[p]) continue;
        on++;
        const v = map[p]!;
        if (v < maxLabel) inter[v]!++;
      }
      for (const k of labels) {
        const area = areas[i]![k]!;
        if (area === 0) continue;
        shown[k]!++;
        const union = on + area - inter[k]!;
        if (union > 0 && inter[k]! / union > options.iou) hits[k]!++;
      }
    }
    let best = { part: labels[0] ?? 0, score: 0 };
    for (const k of labels) {
      const score = shown[k]! > 0 ? hits[k]! / shown[k]! : 0;
      if (score > best.score) best = { part: k, score };
    }
    perFilter.push(best);
  }
  return { perFilter, mean: perFilter.reduce((s, v) => s + v.score, 0) / Math.max(c, 1) };
}
