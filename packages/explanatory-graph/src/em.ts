/**
 * The per-layer EM of the explanatory graph (methods.md §3.5), on flat typed arrays.
 *
 * Conventions: positions in a layer's own map are (row, column) in cells, 0-based; positions
 * shared between layers (records, parents' votes) are image pixels, via the layer's cell
 * geometry (pixel = scale · cell + offset). Node v of a layer belongs to filter ⌊v / K⌋.
 */

/** Evidence of one layer over N images: max(x̃, 0) = max(x, 0) / σ_neg, laid out [N][C][h][w]. */
export interface EvidenceMaps {
  readonly values: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** Hyper-parameters of one graph layer (methods.md §3.4, scaled to the map: see `layerParams`). */
export interface LayerParams {
  /** Nodes per filter, ⌈h·w·density⌉. */
  readonly nodesPerFilter: number;
  /** Parents per node (0 for the top layer). */
  readonly parents: number;
  /** Candidate parents: the best nodes of the layer above. */
  readonly parentPool: number;
  /** Candidate offsets per axis (a grid of bin centres over [−R, R]). */
  readonly candidates: number;
  /** R = round(min(searchFraction · h / 2, 3 σ_V)), at least 1 cell. */
  readonly searchFraction: number;
  /** Std of the Gaussian that smooths activation mass, cells. */
  readonly mapDelta: number;
  /** Prior std of a node without parents (the top layer, and every layer's first iteration), cells. */
  readonly initialStd: number;
  readonly sigmaMax: number;
  readonly sigmaMin: number;
  /** Weight of the background component (τ = background · mean prior mass). */
  readonly background: number;
  readonly iterations: number;
  /** Anchor step size η. */
  readonly eta: number;
  /** The consistency factor's variance inflation (the code's 15). */
  readonly consistency: number;
}

/**
 * The authors' VGG-16 settings expressed on a map of h cells: density gives the nodes per
 * filter; σ bounds 1/√density; the search window 0.3·h/2; the initial std 0.15·h. One change:
 * the smoothing std is max(0.025·h, 0.5) cells — on 8- and 16-cell maps 0.025·h is a fifth of a
 * cell, and sub-cell candidates would see only the nearest cell's activation.
 */
export function layerParams(
  h: number,
  density: number,
  o: { top: boolean; iterations?: number },
): LayerParams {
  const sigmaMax = 1 / Math.sqrt(density);
  return {
    nodesPerFilter: Math.ceil(h * h * density),
    parents: o.top ? 0 : 15,
    parentPool: 600,
    candidates: 6,
    searchFraction: 0.3,
    mapDelta: Math.max(0.025 * h, 0.5),
    initialStd: 0.15 * h,
    sigmaMax,
    sigmaMin: sigmaMax / 10,
    background: 0.1,
    iterations: o.iterations ?? 20,
    eta: 1,
    consistency: 15,
  };
}

/** Where a layer's cells sit in the image. */
export interface LayerGeometry {
  readonly scale: number;
  readonly offset: number;
  readonly h: number;
  readonly w: number;
}

/** The learned state of one graph layer. */
export interface GraphLayerState {
  readonly params: LayerParams;
  readonly geometry: LayerGeometry;
  readonly filters: number;
  /** Node anchors, [V][row, col] in cells. */
  readonly anchor: Float64Array;
  /** Node deformation std σ_V, cells (sets the search window). */
  readonly sigma: Float64Array;
  /** Parents, [V][P] indices into the layer above; −1 = none. */
  readonly parents: Int32Array;
  /** Mean inferred position over the mining images, [V][y, x] pixels (the parents' reference for votes). */
  readonly meanPos: Float64Array;
  /** Mining-time mean of the total score S (scores are divided by it). */
  scoreScale: number;
}

/** What inference records per image and node. */
export interface Records {
  readonly n: number;
  readonly nodes: number;
  /** [N][V][y, x] pixels (in the frame of the view used for the image). */
  readonly pos: Float64Array;
  /** s_V(I) = max_o q·e. */
  readonly peak: Float64Array;
  /** S_V(I) = Σ_o q·e, divided by the layer's score scale. */
  readonly total: Float64Array;
}

/** Per image and node: the parent-conditioned prior (methods.md §3.5 a). */
export interface Prior {
  /** δ_V(I), [N][V][row, col] cells. */
  readonly shift: Float64Array;
  /** σ̄_V(I), cells. */
  readonly std: Float64Array;
  /** log λ_V(I). */
  readonly logLambda: Float64Array;
}

export const nodeCount = (s: { filters: number; params: { nodesPerFilter: number } }): number =>
  s.filters * s.params.nodesPerFilter;

export function emptyRecords(n: number, nodes: number): Records {
  return {
    n,
    nodes,
    pos: new Float64Array(n * nodes * 2),
    peak: new Float64Array(n * nodes),
    total: new Float64Array(n * nodes),
  };
}

/** The prior of nodes without parents: no shift, the initial std, λ = 1. */
export function flatPrior(state: GraphLayerState, n: number): Prior {
  const v = nodeCount(state);
  return {
    shift: new Float64Array(n * v * 2),
    std: new Float64Array(n * v).fill(state.params.initialStd),
    logLambda: new Float64Array(n * v),
  };
}

/** Anchors at random distinct cells per filter (seeded), σ at its upper bound. */
export function initLayer(
  params: LayerParams,
  geometry: LayerGeometry,
  filters: number,
  random: () => number,
): GraphLayerState {
  const k = params.nodesPerFilter;
  const cells = geometry.h * geometry.w;
  if (k > cells) throw new RangeError(`${k} nodes per filter do not fit ${cells} cells`);
  const v = filters * k;
  const anchor = new Float64Array(v * 2);
  for (let f = 0; f < filters; f++) {
    const order = Array.from({ length: cells }, (_, i) => i);
    for (let i = cells - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let j = 0; j < k; j++) {
      anchor[(f * k + j) * 2] = Math.floor(order[j]! / geometry.w);
      anchor[(f * k + j) * 2 + 1] = order[j]! % geometry.w;
    }
  }
  return {
    params,
    geometry,
    filters,
    anchor,
    sigma: new Float64Array(v).fill(Math.min(params.sigmaMax, params.initialStd)),
    parents: new Int32Array(v * params.parents).fill(-1),
    meanPos: new Float64Array(v * 2),
    scoreScale: 1,
  };
}

/** Candidate offsets and smoothing weights for one search radius R. */
interface Window {
  readonly radius: number;
  /** Offsets of the grid per axis (bin centres over [−R, R]). */
  readonly grid: Float64Array;
  readonly spacing: number;
  /** weights[j·cells + d]: smoothing weight of window cell d for candidate j (j = jy·G + jx). */
  readonly weights: Float64Array;
  readonly side: number;
}

function makeWindow(radius: number, g: number, mapDelta: number): Window {
  const spacing = (2 * radius) / g;
  const grid = Float64Array.from({ length: g }, (_, j) => -radius + spacing * (j + 0.5));
  const side = 2 * radius + 1;
  const weights = new Float64Array(g * g * side * side);
  const norm = 1 / (Math.sqrt(2 * Math.PI) * mapDelta);
  const far = 3 * mapDelta;
  for (let jy = 0; jy < g; jy++) {
    for (let jx = 0; jx < g; jx++) {
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          const r = Math.min(Math.hypot(dy - grid[jy]!, dx - grid[jx]!), far);
          weights[(jy * g + jx) * side * side + (dy + radius) * side + (dx + radius)] =
            norm * Math.exp(-(r * r) / (2 * mapDelta * mapDelta));
        }
      }
    }
  }
  return { radius, grid, spacing, weights, side };
}

/** Sums the M-step needs, per node: Σ r·(p − t)/σ̄² (2), Σ r, Σ q·e·‖o‖², Σ q·e. */
export const ACC_WIDTH = 5;

/**
 * E-step on one image of one layer (methods.md §3.5 b), writing the image's records and
 * (optionally) adding its M-step sums into `acc`. Returns the image's explained mass Σ_V S_V.
 * One change from the released code: the prior is centred on the node's expected position
 * a_V + δ_V(I) itself, not on its rounded cell (the rounding would otherwise bias offsets).
 */
export class LayerEStep {
  private readonly windows: Window[] = [];
  private readonly g: number;
  private readonly q: Float64Array;
  private readonly e: Float64Array;
  private readonly centre: Int32Array;
  private readonly radius: Int32Array;

  constructor(private readonly state: GraphLayerState) {
    const p = state.params;
    this.g = p.candidates;
    const maxRadius = this.radiusFor(p.sigmaMax);
    for (let r = 0; r <= maxRadius; r++) this.windows.push(makeWindow(Math.max(r, 1), this.g, p.mapDelta));
    const k = p.nodesPerFilter;
    this.q = new Float64Array(k * this.g * this.g);
    this.e = new Float64Array(k * this.g * this.g);
    this.centre = new Int32Array(k * 2);
    this.radius = new Int32Array(k);
  }

  radiusFor(sigma: number): number {
    return Math.max(
      1,
      Math.round(Math.min((this.state.params.searchFraction * this.state.geometry.h) / 2, 3 * sigma)),
    );
  }

  run(
    maps: EvidenceMaps,
    i: number,
    prior: Prior,
    priorIndex: number,
    out: Records,
    outIndex: number,
    acc?: Float64Array,
  ): number {
    const s = this.state;
    const { h, w } = s.geometry;
    const k = s.params.nodesPerFilter;
    const g = this.g;
    const gg = g * g;
    const v = nodeCount(s);
    const { q, e, centre, radius } = this;
    let explained = 0;
    for (let f = 0; f < s.filters; f++) {
      const base = (i * maps.c + f) * h * w;
      let priorMass = 0;
      for (let j = 0; j < k; j++) {
        const node = f * k + j;
        const pi = priorIndex * v + node;
        const ty = s.anchor[node * 2]! + prior.shift[pi * 2]!;
        const tx = s.anchor[node * 2 + 1]! + prior.shift[pi * 2 + 1]!;
        const cy = Math.min(Math.max(Math.round(ty), 0), h - 1);
        const cx = Math.min(Math.max(Math.round(tx), 0), w - 1);
        const rad = this.radiusFor(s.sigma[node]!);
        const win = this.windows[rad]!;
        centre[j * 2] = cy;
        centre[j * 2 + 1] = cx;
        radius[j] = rad;
        const std = prior.std[pi]!;
        const lam = Math.exp(prior.logLambda[pi]!);
        const norm = lam / (2 * Math.PI * std * std);
        const inv = 1 / (2 * std * std);
        const cells = win.side * win.side;
        for (let jy = 0; jy < g; jy++) {
          const dy = cy + win.grid[jy]! - ty;
          for (let jx = 0; jx < g; jx++) {
            const dx = cx + win.grid[jx]! - tx;
            const at = j * gg + jy * g + jx;
            q[at] = norm * Math.exp(-(dy * dy + dx * dx) * inv);
            priorMass += q[at]!;
            // Gaussian-smoothed activation mass around the candidate (cells off the map count 0).
            let sum = 0;
            const wBase = (jy * g + jx) * cells;
            for (let wy = 0; wy < win.side; wy++) {
              const y = cy + wy - rad;
              if (y < 0 || y >= h) continue;
              const row = base + y * w;
              const wRow = wBase + wy * win.side;
              for (let wx = 0; wx < win.side; wx++) {
                const x = cx + wx - rad;
                if (x < 0 || x >= w) continue;
                sum += win.weights[wRow + wx]! * maps.values[row + x]!;
              }
            }
            e[at] = sum;
          }
        }
      }
      const tau = (s.params.background * priorMass) / k;
      for (let j = 0; j < k; j++) {
        const node = f * k + j;
        const pi = priorIndex * v + node;
        const win = this.windows[radius[j]!]!;
        const cy = centre[j * 2]!;
        const cx = centre[j * 2 + 1]!;
        let best = -1;
        let bestAt = 0;
        let total = 0;
        let rSum = 0;
        let rY = 0;
        let rX = 0;
        let qeO2 = 0;
        const ty = s.anchor[node * 2]! + prior.shift[pi * 2]!;
        const tx = s.anchor[node * 2 + 1]! + prior.shift[pi * 2 + 1]!;
        for (let jy = 0; jy < g; jy++) {
          const py = cy + win.grid[jy]!;
          for (let jx = 0; jx < g; jx++) {
            const px = cx + win.grid[jx]!;
            const at = j * gg + jy * g + jx;
            const qe = q[at]! * e[at]!;
            total += qe;
            if (qe > best) {
              best = qe;
              bestAt = at;
            }
            if (!acc || qe === 0) continue;
            // Competition: every node of the filter claims this position through its nearest candidate.
            let claim = tau;
            for (let o = 0; o < k; o++) {
              const wo = this.windows[radius[o]!]!;
              const ry = py - (centre[o * 2]! - wo.radius);
              const rx = px - (centre[o * 2 + 1]! - wo.radius);
              if (ry < 0 || rx < 0 || ry > 2 * wo.radius || rx > 2 * wo.radius) continue;
              const iy = Math.min(Math.floor(ry / wo.spacing), g - 1);
              const ix = Math.min(Math.floor(rx / wo.spacing), g - 1);
              claim += q[o * gg + iy * g + ix]!;
            }
            const r = (q[at]! / claim) * e[at]!;
            rSum += r;
            rY += r * (py - ty);
            rX += r * (px - tx);
            qeO2 += qe * (win.grid[jy]! ** 2 + win.grid[jx]! ** 2);
          }
        }
        const oi = outIndex * v + node;
        const local = bestAt - j * gg;
        // Candidates near the border may lie off the map; a position is kept on it.
        const py = Math.min(Math.max(best > 0 ? cy + win.grid[Math.floor(local / g)]! : ty, 0), h - 1);
        const px = Math.min(Math.max(best > 0 ? cx + win.grid[local % g]! : tx, 0), w - 1);
        out.pos[oi * 2] = s.geometry.scale * py + s.geometry.offset;
        out.pos[oi * 2 + 1] = s.geometry.scale * px + s.geometry.offset;
        out.peak[oi] = Math.max(best, 0);
        out.total[oi] = total / s.scoreScale;
        explained += total;
        if (acc) {
          const std2 = prior.std[pi]! ** 2;
          acc[node * ACC_WIDTH]! += rY / std2;
          acc[node * ACC_WIDTH + 1]! += rX / std2;
          acc[node * ACC_WIDTH + 2]! += rSum;
          acc[node * ACC_WIDTH + 3]! += qeO2;
          acc[node * ACC_WIDTH + 4]! += total;
        }
      }
    }
    return explained;
  }
}

/**
 * M-step (methods.md §3.5 c): anchors move by η·σ²_min·Σ r·(p − t)/σ̄² / Σ r, damped by
 * iteration^½; σ_V becomes the q·e-weighted rms offset of the candidates, clamped to the
 * layer's bounds. One change: σ_min is the node's own smallest prior std over the images
 * (`minStd[v]`), not the layer's — with the layer-wide minimum, one node whose parents agree
 * tightly freezes every other node's anchor after the first iteration.
 */
export function mStep(
  state: GraphLayerState,
  acc: Float64Array,
  minStd: Float64Array,
  iteration: number,
): void {
  const { h, w } = state.geometry;
  const p = state.params;
  for (let v = 0; v < nodeCount(state); v++) {
    const r = acc[v * ACC_WIDTH + 2]!;
    if (r > 0) {
      const step = (p.eta * minStd[v]! ** 2) / Math.sqrt(iteration);
      state.anchor[v * 2] = Math.min(
        Math.max(state.anchor[v * 2]! + (step * acc[v * ACC_WIDTH]!) / r, 0),
        h - 1,
      );
      state.anchor[v * 2 + 1] = Math.min(
        Math.max(state.anchor[v * 2 + 1]! + (step * acc[v * ACC_WIDTH + 1]!) / r, 0),
        w - 1,
      );
    }
    const mass = acc[v * ACC_WIDTH + 4]!;
    if (mass > 0)
      state.sigma[v] = Math.min(Math.max(Math.sqrt(acc[v * ACC_WIDTH + 3]! / mass), p.sigmaMin), p.sigmaMax);
  }
}

/** Per node, the smallest prior std over the prior's images. */
export function minStdPerNode(prior: Prior, nodes: number): Float64Array {
  const out = new Float64Array(nodes).fill(Infinity);
  for (let j = 0; j < prior.std.length; j++) out[j % nodes] = Math.min(out[j % nodes]!, prior.std[j]!);
  return out;
}

/**
 * Candidate parents (methods.md §3.5 a.1): nodes of the layer above without the half whose
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

/**
 * Parents of every node (methods.md §3.5 a.2): candidate U scores Σ_I s_V(I)·exp(−d²/(2·mean d²))
 * with d the distance between V's and U's centred positions (pixels) in image I and mean d² over
 * all candidates and images of V; the best P are kept.
 */
export function selectParents(
  child: GraphLayerState,
  childRecords: Records,
  candidates: readonly number[],
  upperRecords: Records,
  upperMean: Float64Array,
): void {
  const v = nodeCount(child);
  const p = child.params.parents;
  const n = childRecords.n;
  const childMean = meanPositions(childRecords);
  const m = candidates.length;
  const d2 = new Float64Array(m * n);
  for (let node = 0; node < v; node++) {
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
    const mean = sum / Math.max(m * n, 1) || 1;
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

/**
 * The parent-conditioned prior (methods.md §3.5 a.3) for every image: parents' displacements
 * from their mean positions, converted to this layer's cells (the released code adds upper-layer
 * cells to lower-layer anchors unscaled — fixed here), weighted by 1/σ_U² (σ_U converted too).
 */
export function parentPrior(
  child: GraphLayerState,
  upper: GraphLayerState,
  upperRecords: Records,
  upperMean: Float64Array,
): Prior {
  const v = nodeCount(child);
  const p = child.params.parents;
  const n = upperRecords.n;
  const prior: Prior = {
    shift: new Float64Array(n * v * 2),
    std: new Float64Array(n * v),
    logLambda: new Float64Array(n * v),
  };
  const ratio = upper.geometry.scale / child.geometry.scale;
  const u2 = upperRecords.nodes;
  const dy = new Float64Array(p);
  const dx = new Float64Array(p);
  const wt = new Float64Array(p);
  for (let node = 0; node < v; node++) {
    const parents = child.parents.subarray(node * p, node * p + p);
    for (let i = 0; i < n; i++) {
      const at = i * v + node;
      let sw = 0;
      let sy = 0;
      let sx = 0;
      let used = 0;
      for (let j = 0; j < p; j++) {
        const u = parents[j]!;
        if (u < 0) continue;
        const cu = (i * u2 + u) * 2;
        dy[used] = (upperRecords.pos[cu]! - upperMean[u * 2]!) / child.geometry.scale;
        dx[used] = (upperRecords.pos[cu + 1]! - upperMean[u * 2 + 1]!) / child.geometry.scale;
        const su = upper.sigma[u]! * ratio;
        wt[used] = 1 / (su * su);
        sw += wt[used]!;
        sy += wt[used]! * dy[used]!;
        sx += wt[used]! * dx[used]!;
        used++;
      }
      if (used === 0) {
        prior.std[at] = child.params.initialStd;
        continue;
      }
      const my = sy / sw;
      const mx = sx / sw;
      const std = Math.sqrt(1 / sw);
      let logLambda = Math.log(std);
      for (let j = 0; j < used; j++) {
        const s2 = 1 / wt[j]!;
        logLambda +=
          -((my - dy[j]!) ** 2 + (mx - dx[j]!) ** 2) / (2 * child.params.consistency * s2) -
          0.5 * Math.log(s2);
      }
      prior.shift[at * 2] = my;
      prior.shift[at * 2 + 1] = mx;
      prior.std[at] = std;
      prior.logLambda[at] = logLambda;
    }
  }
  return prior;
}
