import { nodeCount, type GraphLayerState, type Records } from './state';

/**
 * Candidate parents (docs/methods.md §3.5 a.1): nodes of the layer above without the half whose
 * positions vary least across images, without those whose mean position lies within 10 % of the
 * map's border, ranked by Σ_I S_U(I); the best `pool`.
 */
export function parentCandidates(upper: GraphLayerState, records: Records, pool: number): number[] {
  const v = nodeCount(upper);
  const { h, w, scale, offset } = upper.geometry;
  const variance = new Float64Array(v);
  const score = new Float64Array(v);
  for (let u = 0; u < v; u++) {
    let s = 0;
    for (let i = 0; i < records.n; i++) {
      const at = (i * v + u) * 2;
      s += records.total[i * v + u]!;
      variance[u]! +=
        (records.pos[at]! - upper.meanPos[u * 2]!) ** 2 +
        (records.pos[at + 1]! - upper.meanPos[u * 2 + 1]!) ** 2;
    }
    score[u] = s;
  }
  const byVariance = Array.from({ length: v }, (_, u) => u).sort(
    (a, b) => variance[a]! - variance[b]! || a - b,
  );
  const still = new Set(byVariance.slice(0, Math.floor(v / 2)));
  const inside = (u: number) => {
    const row = (upper.meanPos[u * 2]! - offset) / scale;
    const col = (upper.meanPos[u * 2 + 1]! - offset) / scale;
    return row >= 0.1 * (h - 1) && row <= 0.9 * (h - 1) && col >= 0.1 * (w - 1) && col <= 0.9 * (w - 1);
  };
  return Array.from({ length: v }, (_, u) => u)
    .filter((u) => !still.has(u) && inside(u))
    .sort((a, b) => score[b]! - score[a]! || a - b)
    .slice(0, pool);
}

/** Mean position of every node over the images, [V][y, x] pixels. */
export function meanPositions(records: Records): Float64Array {
  const out = new Float64Array(records.nodes * 2);
  for (let i = 0; i < records.n; i++)
    for (let j = 0; j < records.nodes * 2; j++)
      out[j]! += records.pos[i * records.nodes * 2 + j]! / records.n;
  return out;
}

export interface SelectParentsOptions {
  /** The layer whose parents are chosen (its `parents` are overwritten). */
  readonly child: GraphLayerState;
  readonly childRecords: Records;
  /** Candidate parents, node indices of the layer above (`parentCandidates`). */
  readonly candidates: readonly number[];
  readonly upperRecords: Records;
  /** The layer above's mean positions, [U][y, x] pixels. */
  readonly upperMean: Float64Array;
}

/**
 * Parents of every node (docs/methods.md §3.5 a.2): candidate U scores Σ_I s_V(I)·exp(−d²/(2·mean d²))
 * with d the distance between V's and U's centred positions (pixels) in image I and mean d² over
 * all candidates and images of V; the best P are kept.
 */
export function selectParents(options: SelectParentsOptions): void {
  const { child, childRecords, candidates } = options;
  const v = nodeCount(child);
  const p = child.params.parents;
  const n = childRecords.n;
  const childMean = meanPositions(childRecords);
  const m = candidates.length;
  const d2 = new Float64Array(m * n);
  for (let node = 0; node < v; node++) {
    const mean = centredDistances(options, { node, childMean, d2 });
    const score = new Float64Array(m);
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let i = 0; i < n; i++)
        s += childRecords.peak[i * v + node]! * Math.exp(-d2[c * n + i]! / (2 * mean));
      score[c] = s;
    }
    const best = Array.from({ length: m }, (_, c) => c)
      .sort((a, b) => score[b]! - score[a]! || a - b)
      .slice(0, p);
    for (let j = 0; j < p; j++) child.parents[node * p + j] = j < best.length ? candidates[best[j]!]! : -1;
  }
}

/** d² per candidate and image for one node, into `d2` ([candidate][image]); returns their mean (1 if 0). */
function centredDistances(
  options: SelectParentsOptions,
  of: { node: number; childMean: Float64Array; d2: Float64Array },
): number {
  const { childRecords, candidates, upperRecords, upperMean } = options;
  const { node, childMean, d2 } = of;
  const v = nodeCount(options.child);
  const n = childRecords.n;
  const m = candidates.length;
  let sum = 0;
  for (let c = 0; c < m; c++) {
    const u = candidates[c]!;
    for (let i = 0; i < n; i++) {
      const cv = (i * v + node) * 2;
      const cu = (i * upperRecords.nodes + u) * 2;
      const dy = childRecords.pos[cv]! - childMean[node * 2]! - (upperRecords.pos[cu]! - upperMean[u * 2]!);
      const dx =
        childRecords.pos[cv + 1]! -
        childMean[node * 2 + 1]! -
        (upperRecords.pos[cu + 1]! - upperMean[u * 2 + 1]!);
      const d = dy * dy + dx * dx;
      d2[c * n + i] = d;
      sum += d;
    }
  }
  return sum / Math.max(m * n, 1) || 1;
}
