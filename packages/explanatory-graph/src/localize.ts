/**
 * Few-shot part localization (docs/methods.md §3.6) with the graph's nodes, and the two baselines of
 * §9.3 built here for comparison: raw filters located by their peaks, and a linear regressor on
 * pooled deep features ("fc7 + linear"). Positions are [x, y] pixels unless said otherwise.
 */

export type Point = readonly [number, number];

/**
 * Units seen in N images: graph nodes (positions inferred, scores s_V) or raw filters (peak
 * cell, peak value). `flips[i]` marks images the units saw mirrored: displacements learned from
 * the shots are kept in the units' own (canonical) frame, so that a node left of the head in
 * one image is right of it in a mirrored one.
 */
export interface UnitObservations {
  readonly n: number;
  readonly units: number;
  /** [N][U][y, x] pixels, in the image's frame. */
  readonly pos: Float64Array;
  /** [N][U], ≤ 0 where the unit does not fire. */
  readonly score: Float64Array;
  readonly flips?: Uint8Array;
  /** Per unit, the displacement-spread floor (pixels): its layer's cell size. */
  readonly floor: Float64Array;
}

export interface UnitLocator {
  readonly units: number[];
  /** Per chosen unit: mean displacement part − unit in the canonical frame, [dy, dx]. */
  readonly offsets: Float64Array;
  /** Per chosen unit: its ranking score (mean shot score / (spread + floor)). */
  readonly rank: Float64Array;
}

/** The K annotated images (indices into the observations) and every image's part centre. */
export interface ShotTargets {
  readonly shots: readonly number[];
  readonly targets: readonly (Point | null)[];
}

export interface FitUnitLocatorOptions extends ShotTargets {
  /** Units kept, best ranked first. */
  readonly top: number;
}

export interface FitFeatureRegressorOptions extends ShotTargets {
  /** Ridge strength per feature dimension (default 1). */
  readonly lambda?: number;
}

/**
 * Picks the units that predict a part from K annotated images: per unit that fires in every
 * shot, the displacement Δ = p* − p̂ (canonical frame) and its spread (rms around the mean);
 * ranked by mean shot score / (spread + the unit's floor); the best `top` are kept.
 */
export function fitUnitLocator(obs: UnitObservations, options: FitUnitLocatorOptions): UnitLocator {
  const { shots, targets, top } = options;
  const k = shots.length;
  const candidates: { u: number; rank: number; dy: number; dx: number }[] = [];
  for (let u = 0; u < obs.units; u++) {
    let score = 0;
    let fires = true;
    const dy: number[] = [];
    const dx: number[] = [];
    for (const i of shots) {
      const s = obs.score[i * obs.units + u]!;
      const t = targets[i];
      if (!(s > 0) || !t) {
        fires = false;
        break;
      }
      score += s / k;
      const sign = obs.flips?.[i] ? -1 : 1;
      dy.push(t[1] - obs.pos[(i * obs.units + u) * 2]!);
      dx.push(sign * (t[0] - obs.pos[(i * obs.units + u) * 2 + 1]!));
    }
    if (!fires) continue;
    const my = dy.reduce((a, b) => a + b, 0) / k;
    const mx = dx.reduce((a, b) => a + b, 0) / k;
    const spread = Math.sqrt(dy.reduce((a, v, j) => a + (v - my) ** 2 + (dx[j]! - mx) ** 2, 0) / k);
    candidates.push({ u, rank: score / (spread + obs.floor[u]!), dy: my, dx: mx });
  }
  candidates.sort((a, b) => b.rank - a.rank || a.u - b.u);
  const chosen = candidates.slice(0, top);
  return {
    units: chosen.map((c) => c.u),
    offsets: Float64Array.from(chosen.flatMap((c) => [c.dy, c.dx])),
    rank: Float64Array.from(chosen.map((c) => c.rank)),
  };
}

/**
 * The part's position in image i: the chosen units' positions plus their offsets, weighted by
 * the units' scores in this image (units that do not fire do not vote; if none fires, the
 * best-ranked unit votes alone).
 */
export function locateWithUnits(locator: UnitLocator, obs: UnitObservations, i: number): Point {
  let sw = 0;
  let x = 0;
  let y = 0;
  const sign = obs.flips?.[i] ? -1 : 1;
  locator.units.forEach((u, j) => {
    const s = obs.score[i * obs.units + u]!;
    if (!(s > 0)) return;
    y += s * (obs.pos[(i * obs.units + u) * 2]! + locator.offsets[j * 2]!);
    x += s * (obs.pos[(i * obs.units + u) * 2 + 1]! + sign * locator.offsets[j * 2 + 1]!);
    sw += s;
  });
  if (sw > 0) return [x / sw, y / sw];
  const u = locator.units[0];
  if (u === undefined) return [NaN, NaN];
  return [
    obs.pos[(i * obs.units + u) * 2 + 1]! + sign * locator.offsets[1]!,
    obs.pos[(i * obs.units + u) * 2]! + locator.offsets[0]!,
  ];
}

/** Ridge regression from pooled features to the part's [x, y], fitted in the dual (K × K). */
export interface FeatureRegressor {
  readonly mean: Float64Array;
  readonly target: Point;
  /** Dual coefficients per shot, [K][x, y]. */
  readonly alpha: Float64Array;
  readonly shots: Float64Array[];
}

/**
 * The "pooled features + linear" baseline: features (already standardised) of the K shots,
 * centred; w = Xᵀ(XXᵀ + λI)⁻¹(Y − Ȳ) with λ = `lambda` · feature dimension (each standardised
 * feature has unit variance, so XXᵀ's diagonal is about the dimension). K = 1 predicts the shot's
 * position everywhere.
 */
export function fitFeatureRegressor(
  features: readonly Float64Array[],
  options: FitFeatureRegressorOptions,
): FeatureRegressor {
  const { shots, targets, lambda = 1 } = options;
  const k = shots.length;
  const d = features[shots[0]!]!.length;
  const mean = new Float64Array(d);
  for (const i of shots) for (let j = 0; j < d; j++) mean[j]! += features[i]![j]! / k;
  const x = shots.map((i) => Float64Array.from(features[i]!, (v, j) => v - mean[j]!));
  const ys = shots.map((i) => targets[i]!);
  const target: Point = [ys.reduce((s, p) => s + p[0], 0) / k, ys.reduce((s, p) => s + p[1], 0) / k];
  const gram = new Float64Array(k * k);
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++)
      gram[a * k + b] = x[a]!.reduce((s, v, j) => s + v * x[b]![j]!, 0) + (a === b ? lambda * d : 0);
  const rhs = ys.map((p) => [p[0] - target[0], p[1] - target[1]] as [number, number]);
  const alpha = solve(gram, k, rhs);
  return { mean, target, alpha, shots: x };
}

export function predictWithFeatures(r: FeatureRegressor, feature: Float64Array): Point {
  let px = r.target[0];
  let py = r.target[1];
  r.shots.forEach((s, a) => {
    let dot = 0;
    for (let j = 0; j < s.length; j++) dot += s[j]! * (feature[j]! - r.mean[j]!);
    px += dot * r.alpha[a * 2]!;
    py += dot * r.alpha[a * 2 + 1]!;
  });
  return [px, py];
}

/** Gaussian elimination with partial pivoting for a small symmetric positive-definite system with two right-hand sides. */
function solve(matrix: Float64Array, k: number, rhs: [number, number][]): Float64Array {
  const a = Float64Array.from(matrix);
  const b = Float64Array.from(rhs.flat());
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++)
      if (Math.abs(a[r * k + col]!) > Math.abs(a[pivot * k + col]!)) pivot = r;
    if (pivot !== col) {
      for (let c = 0; c < k; c++) [a[col * k + c], a[pivot * k + c]] = [a[pivot * k + c]!, a[col * k + c]!];
      for (let c = 0; c < 2; c++) [b[col * 2 + c], b[pivot * 2 + c]] = [b[pivot * 2 + c]!, b[col * 2 + c]!];
    }
    for (let r = col + 1; r < k; r++) {
      const f = a[r * k + col]! / a[col * k + col]!;
      for (let c = col; c < k; c++) a[r * k + c]! -= f * a[col * k + c]!;
      for (let c = 0; c < 2; c++) b[r * 2 + c]! -= f * b[col * 2 + c]!;
    }
  }
  const out = new Float64Array(k * 2);
  for (let r = k - 1; r >= 0; r--) {
    for (let c = 0; c < 2; c++) {
      let s = b[r * 2 + c]!;
      for (let j = r + 1; j < k; j++) s -= a[r * k + j]! * out[j * 2 + c]!;
      out[r * 2 + c] = s / a[r * k + r]!;
    }
  }
  return out;
}

/**
 * Pooled features of one image ("fc7"-like, from conv maps): per layer and channel the mean and
 * the max over the map, plus the top layer's 2 × 2 spatial-pyramid means ("+sp").
 * maps[l] is layer l's [N, h, w, C] (top layer first), shapes[l] its [h, w, C].
 */
export function pooledFeatures(
  maps: readonly Float32Array[],
  shapes: readonly (readonly [number, number, number])[],
  i: number,
): Float64Array {
  const out: number[] = [];
  maps.forEach((m, l) => {
    const [h, w, c] = shapes[l]!;
    const base = i * h * w * c;
    for (let f = 0; f < c; f++) {
      let sum = 0;
      let max = -Infinity;
      for (let p = 0; p < h * w; p++) {
        const v = m[base + p * c + f]!;
        sum += v;
        if (v > max) max = v;
      }
      out.push(sum / (h * w), max);
    }
    if (l !== 0) return;
    for (let qy = 0; qy < 2; qy++) {
      for (let qx = 0; qx < 2; qx++) {
        for (let f = 0; f < c; f++) {
          let sum = 0;
          let cells = 0;
          for (let y = Math.floor((qy * h) / 2); y < Math.floor(((qy + 1) * h) / 2); y++) {
            for (let x = Math.floor((qx * w) / 2); x < Math.floor(((qx + 1) * w) / 2); x++) {
              sum += m[base + (y * w + x) * c + f]!;
              cells++;
            }
          }
          out.push(sum / Math.max(cells, 1));
        }
      }
    }
  });
  return Float64Array.from(out);
}

/** Standardises features in place over the given images (zero mean, unit variance; constant features become 0). */
export function standardise(features: Float64Array[]): void {
  const d = features[0]?.length ?? 0;
  const n = features.length;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (const f of features) m += f[j]! / n;
    let v = 0;
    for (const f of features) v += (f[j]! - m) ** 2 / n;
    const s = Math.sqrt(v);
    for (const f of features) f[j] = s > 1e-12 ? (f[j]! - m) / s : 0;
  }
}

/**
 * Normalized distance (docs/methods.md §1.5): ‖p̂ − p*‖ / (W·√2) for a W × W image — the distance as
 * a share of the diagonal of the object crop.
 */
export function normalizedDistance(predicted: Point, truth: Point, size: number): number {
  return Math.hypot(predicted[0] - truth[0], predicted[1] - truth[1]) / (size * Math.SQRT2);
}

/**
 * Raw filters as units: per image and filter, the image position of the peak cell and the peak
 * value. Each layer's `views` are its [N, h, w, C] maps as is and (optionally) mirrored; with
 * `flips`, image i is read in view flips[i] and its peaks are mapped back to the image
 * (x → width − x), the way graph nodes see images.
 */
export function filterObservations(
  layers: readonly {
    views: readonly Float32Array[];
    h: number;
    w: number;
    c: number;
    scale: number;
    offset: number;
  }[],
  n: number,
  aligned?: { flips: Uint8Array; width: number },
): UnitObservations {
  const units = layers.reduce((s, l) => s + l.c, 0);
  const pos = new Float64Array(n * units * 2);
  const score = new Float64Array(n * units);
  const floor = new Float64Array(units);
  let u0 = 0;
  for (const l of layers) {
    floor.fill(l.scale, u0, u0 + l.c);
    for (let i = 0; i < n; i++) {
      const flip = aligned?.flips[i] === 1;
      const maps = l.views[flip ? 1 : 0]!;
      for (let f = 0; f < l.c; f++) {
        let best = -Infinity;
        let at = 0;
        for (let p = 0; p < l.h * l.w; p++) {
          const v = maps[(i * l.h * l.w + p) * l.c + f]!;
          if (v > best) {
            best = v;
            at = p;
          }
        }
        const u = u0 + f;
        const x = l.scale * (at % l.w) + l.offset;
        pos[(i * units + u) * 2] = l.scale * Math.floor(at / l.w) + l.offset;
        pos[(i * units + u) * 2 + 1] = flip ? aligned!.width - x : x;
        score[i * units + u] = best;
      }
    }
    u0 += l.c;
  }
  return { n, units, pos, score, floor, ...(aligned ? { flips: aligned.flips } : {}) };
}
