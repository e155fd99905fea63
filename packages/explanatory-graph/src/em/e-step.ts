import {
  ACC_WIDTH,
  nodeCount,
  type EvidenceMaps,
  type GraphLayerState,
  type Prior,
  type Records,
} from './state';
import { searchWindow, type SearchWindow } from './window';

/** One image for `LayerEStep.run`. */
export interface EStepInput {
  /** The layer's evidence; the image is `image` of it. */
  readonly maps: EvidenceMaps;
  readonly image: number;
  readonly prior: Prior;
  /** The image's index in `prior` (0 for a prior shared by every image). */
  readonly priorIndex: number;
  /** Where the image's records go, at `outIndex`. */
  readonly out: Records;
  readonly outIndex: number;
  /** M-step sums, [V][ACC_WIDTH], added to when given (mining); inference leaves it out. */
  readonly acc?: Float64Array;
}

/** Where node j of the filter in hand looks: its expected position, search centre and window. */
interface NodeSearch {
  /** a_V + δ_V(I), cells. */
  readonly ty: number;
  readonly tx: number;
  readonly cy: number;
  readonly cx: number;
  readonly win: SearchWindow;
}

/** One node's pass over its candidates: where it searched, the best candidate, Σ q·e, and the responsibility sums. */
interface NodeSums {
  readonly search: NodeSearch;
  best: number;
  bestAt: number;
  total: number;
  rSum: number;
  rY: number;
  rX: number;
  qeO2: number;
}

/**
 * E-step on one image of one layer (docs/methods.md §3.5 b), writing the image's records and
 * (optionally) adding its M-step sums into `acc`. Returns the image's explained mass Σ_V S_V.
 * One change from the released code: the prior is centred on the node's expected position
 * a_V + δ_V(I) itself, not on its rounded cell (the rounding would otherwise bias offsets).
 */
export class LayerEStep {
  private readonly windows: SearchWindow[] = [];
  private readonly g: number;
  /** Per node of the filter in hand and candidate: prior weight q and smoothed evidence e. */
  private readonly q: Float64Array;
  private readonly e: Float64Array;
  /** Per node of the filter in hand: search centre (cells) and radius. */
  private readonly centre: Int32Array;
  private readonly radius: Int32Array;

  constructor(private readonly state: GraphLayerState) {
    const p = state.params;
    this.g = p.candidates;
    const maxRadius = this.radiusFor(p.sigmaMax);
    for (let r = 0; r <= maxRadius; r++) this.windows.push(searchWindow(Math.max(r, 1), this.g, p.mapDelta));
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

  run(input: EStepInput): number {
    const s = this.state;
    const k = s.params.nodesPerFilter;
    let explained = 0;
    for (let f = 0; f < s.filters; f++) {
      const priorMass = this.scoreCandidates(input, f);
      const tau = (s.params.background * priorMass) / k;
      for (let j = 0; j < k; j++) explained += this.placeNode(input, f * k + j, tau);
    }
    return explained;
  }

  /** Node `node`'s expected position under the prior, search centre and window (after `scoreCandidates`). */
  private search(input: EStepInput, node: number, j: number): NodeSearch {
    const s = this.state;
    const pi = input.priorIndex * nodeCount(s) + node;
    return {
      ty: s.anchor[node * 2]! + input.prior.shift[pi * 2]!,
      tx: s.anchor[node * 2 + 1]! + input.prior.shift[pi * 2 + 1]!,
      cy: this.centre[j * 2]!,
      cx: this.centre[j * 2 + 1]!,
      win: this.windows[this.radius[j]!]!,
    };
  }

  /** First pass over filter f: q and e of every node's candidates; returns the filter's prior mass Σ q. */
  private scoreCandidates(input: EStepInput, f: number): number {
    const s = this.state;
    const { h, w } = s.geometry;
    const k = s.params.nodesPerFilter;
    const g = this.g;
    const { q, e } = this;
    const base = (input.image * input.maps.c + f) * h * w;
    let priorMass = 0;
    for (let j = 0; j < k; j++) {
      const node = f * k + j;
      const pi = input.priorIndex * nodeCount(s) + node;
      const ty = s.anchor[node * 2]! + input.prior.shift[pi * 2]!;
      const tx = s.anchor[node * 2 + 1]! + input.prior.shift[pi * 2 + 1]!;
      const cy = Math.min(Math.max(Math.round(ty), 0), h - 1);
      const cx = Math.min(Math.max(Math.round(tx), 0), w - 1);
      const rad = this.radiusFor(s.sigma[node]!);
      const win = this.windows[rad]!;
      this.centre[j * 2] = cy;
      this.centre[j * 2 + 1] = cx;
      this.radius[j] = rad;
      const std = input.prior.std[pi]!;
      const norm = Math.exp(input.prior.logLambda[pi]!) / (2 * Math.PI * std * std);
      const inv = 1 / (2 * std * std);
      for (let jy = 0; jy < g; jy++) {
        const dy = cy + win.grid[jy]! - ty;
        for (let jx = 0; jx < g; jx++) {
          const dx = cx + win.grid[jx]! - tx;
          const at = j * g * g + jy * g + jx;
          q[at] = norm * Math.exp(-(dy * dy + dx * dx) * inv);
          priorMass += q[at]!;
          e[at] = this.smoothedMass(input.maps.values, base, win, cy, cx, jy * g + jx);
        }
      }
    }
    return priorMass;
  }

  /**
   * Gaussian-smoothed activation mass around candidate `candidate` of the window centred on
   * cell (cy, cx) of the map at `base` (cells off the map count 0). Positional: the innermost
   * kernel, called for every candidate of every node.
   */
  private smoothedMass(
    values: Float32Array,
    base: number,
    win: SearchWindow,
    cy: number,
    cx: number,
    candidate: number,
  ): number {
    const { h, w } = this.state.geometry;
    const rad = win.radius;
    let sum = 0;
    const wBase = candidate * win.side * win.side;
    for (let wy = 0; wy < win.side; wy++) {
      const y = cy + wy - rad;
      if (y < 0 || y >= h) continue;
      const row = base + y * w;
      const wRow = wBase + wy * win.side;
      for (let wx = 0; wx < win.side; wx++) {
        const x = cx + wx - rad;
        if (x < 0 || x >= w) continue;
        sum += win.weights[wRow + wx]! * values[row + x]!;
      }
    }
    return sum;
  }

  /** Second pass for one node: its best candidate, Σ q·e and (with `acc`) responsibilities; writes its record. */
  private placeNode(input: EStepInput, node: number, tau: number): number {
    const k = this.state.params.nodesPerFilter;
    const j = node % k;
    const g = this.g;
    const { q, e } = this;
    const sums: NodeSums = {
      search: this.search(input, node, j),
      best: -1,
      bestAt: 0,
      total: 0,
      rSum: 0,
      rY: 0,
      rX: 0,
      qeO2: 0,
    };
    const { ty, tx, cy, cx, win } = sums.search;
    for (let jy = 0; jy < g; jy++) {
      const py = cy + win.grid[jy]!;
      for (let jx = 0; jx < g; jx++) {
        const px = cx + win.grid[jx]!;
        const at = j * g * g + jy * g + jx;
        const qe = q[at]! * e[at]!;
        sums.total += qe;
        if (qe > sums.best) {
          sums.best = qe;
          sums.bestAt = at;
        }
        if (!input.acc || qe === 0) continue;
        const r = (q[at]! / this.claim(py, px, tau)) * e[at]!;
        sums.rSum += r;
        sums.rY += r * (py - ty);
        sums.rX += r * (px - tx);
        sums.qeO2 += qe * (win.grid[jy]! ** 2 + win.grid[jx]! ** 2);
      }
    }
    this.write(input, node, sums);
    return sums.total;
  }

  /** Competition: every node of the filter claims position (py, px) through its nearest candidate; τ is the background's claim. */
  private claim(py: number, px: number, tau: number): number {
    const k = this.state.params.nodesPerFilter;
    const g = this.g;
    let claim = tau;
    for (let other = 0; other < k; other++) {
      const wo = this.windows[this.radius[other]!]!;
      const ry = py - (this.centre[other * 2]! - wo.radius);
      const rx = px - (this.centre[other * 2 + 1]! - wo.radius);
      if (ry < 0 || rx < 0 || ry > 2 * wo.radius || rx > 2 * wo.radius) continue;
      const iy = Math.min(Math.floor(ry / wo.spacing), g - 1);
      const ix = Math.min(Math.floor(rx / wo.spacing), g - 1);
      claim += this.q[other * g * g + iy * g + ix]!;
    }
    return claim;
  }

  /** The node's record (position in pixels, peak, normalised total) and its M-step sums. */
  private write(input: EStepInput, node: number, sums: NodeSums): void {
    const s = this.state;
    const { h, w } = s.geometry;
    const g = this.g;
    const v = nodeCount(s);
    const { ty, tx, cy, cx, win } = sums.search;
    const oi = input.outIndex * v + node;
    const local = sums.bestAt - (node % s.params.nodesPerFilter) * g * g;
    // Candidates near the border may lie off the map; a position is kept on it.
    const py = Math.min(Math.max(sums.best > 0 ? cy + win.grid[Math.floor(local / g)]! : ty, 0), h - 1);
    const px = Math.min(Math.max(sums.best > 0 ? cx + win.grid[local % g]! : tx, 0), w - 1);
    input.out.pos[oi * 2] = s.geometry.scale * py + s.geometry.offset;
    input.out.pos[oi * 2 + 1] = s.geometry.scale * px + s.geometry.offset;
    input.out.peak[oi] = Math.max(sums.best, 0);
    input.out.total[oi] = sums.total / s.scoreScale;
    const acc = input.acc;
    if (!acc) return;
    const std2 = input.prior.std[input.priorIndex * v + node]! ** 2;
    acc[node * ACC_WIDTH]! += sums.rY / std2;
    acc[node * ACC_WIDTH + 1]! += sums.rX / std2;
    acc[node * ACC_WIDTH + 2]! += sums.rSum;
    acc[node * ACC_WIDTH + 3]! += sums.qeO2;
    acc[node * ACC_WIDTH + 4]! += sums.total;
  }
}
