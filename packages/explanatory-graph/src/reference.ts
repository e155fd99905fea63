import { nodeCount, type EStepInput, type GraphLayerState } from './em';

/**
 * A direct transcription of the E-step of docs/methods.md §3.5 (b) with one JavaScript object per
 * cell, candidate and node, the way one would first write it: the oracle the tests hold
 * `LayerEStep` to, and the peer the mining benchmark measures it against. Not used for mining.
 */
export interface ReferenceNodeResult {
  /** [y, x] pixels. */
  readonly pos: [number, number];
  readonly peak: number;
  readonly total: number;
  /** M-step sums: Σ r·(p − t)/σ̄² (y, x), Σ r, Σ q·e·‖o‖², Σ q·e. */
  readonly acc: [number, number, number, number, number];
}

interface Cell {
  y: number;
  x: number;
  value: number;
}

interface Candidate {
  offset: { y: number; x: number };
  position: { y: number; x: number };
  q: number;
  e: number;
}

interface NodeWork {
  node: number;
  target: { y: number; x: number };
  centre: { y: number; x: number };
  radius: number;
  spacing: number;
  std: number;
  candidates: Candidate[];
}

export function referenceEStep(
  state: GraphLayerState,
  input: Pick<EStepInput, 'maps' | 'image' | 'prior' | 'priorIndex'>,
): ReferenceNodeResult[] {
  const { maps, image: i, prior, priorIndex } = input;
  const p = state.params;
  const { h, w, scale, offset } = state.geometry;
  const k = p.nodesPerFilter;
  const g = p.candidates;
  const v = nodeCount(state);
  const out: ReferenceNodeResult[] = [];
  for (let f = 0; f < state.filters; f++) {
    const cells: Cell[][] = [];
    for (let y = 0; y < h; y++)
      cells.push(
        Array.from({ length: w }, (_, x) => ({
          y,
          x,
          value: maps.values[((i * maps.c + f) * h + y) * w + x]!,
        })),
      );
    const at = (y: number, x: number): Cell | undefined => cells[y]?.[x];
    const nodes: NodeWork[] = [];
    for (let j = 0; j < k; j++) {
      const node = f * k + j;
      const pi = priorIndex * v + node;
      const target = {
        y: state.anchor[node * 2]! + prior.shift[pi * 2]!,
        x: state.anchor[node * 2 + 1]! + prior.shift[pi * 2 + 1]!,
      };
      const centre = {
        y: Math.min(Math.max(Math.round(target.y), 0), h - 1),
        x: Math.min(Math.max(Math.round(target.x), 0), w - 1),
      };
      const radius = Math.max(1, Math.round(Math.min((p.searchFraction * h) / 2, 3 * state.sigma[node]!)));
      const spacing = (2 * radius) / g;
      const std = prior.std[pi]!;
      const lambda = Math.exp(prior.logLambda[pi]!);
      const candidates: Candidate[] = [];
      for (let jy = 0; jy < g; jy++) {
        for (let jx = 0; jx < g; jx++) {
          const o = { y: -radius + spacing * (jy + 0.5), x: -radius + spacing * (jx + 0.5) };
          const position = { y: centre.y + o.y, x: centre.x + o.x };
          const normal = (d: number) => Math.exp(-(d * d) / (2 * std * std)) / (Math.sqrt(2 * Math.PI) * std);
          const q = normal(position.y - target.y) * normal(position.x - target.x) * lambda;
          let e = 0;
          for (let dy = -radius; dy <= radius; dy++) {
            for (let dx = -radius; dx <= radius; dx++) {
              const cell = at(centre.y + dy, centre.x + dx);
              if (!cell) continue;
              const r = Math.min(Math.hypot(cell.y - position.y, cell.x - position.x), 3 * p.mapDelta);
              e +=
                (Math.exp(-(r * r) / (2 * p.mapDelta * p.mapDelta)) / (Math.sqrt(2 * Math.PI) * p.mapDelta)) *
                cell.value;
            }
          }
          candidates.push({ offset: o, position, q, e });
        }
      }
      nodes.push({ node, target, centre, radius, spacing, std, candidates });
    }
    const tau = (p.background * nodes.reduce((s, n) => s + n.candidates.reduce((t, c) => t + c.q, 0), 0)) / k;
    for (const n of nodes) {
      let best: Candidate | undefined;
      let total = 0;
      const acc: [number, number, number, number, number] = [0, 0, 0, 0, 0];
      for (const c of n.candidates) {
        const qe = c.q * c.e;
        total += qe;
        if (!best || qe > best.q * best.e) best = c;
        if (qe === 0) continue;
        let claim = tau;
        for (const other of nodes) {
          const ry = c.position.y - (other.centre.y - other.radius);
          const rx = c.position.x - (other.centre.x - other.radius);
          if (ry < 0 || rx < 0 || ry > 2 * other.radius || rx > 2 * other.radius) continue;
          const iy = Math.min(Math.floor(ry / other.spacing), g - 1);
          const ix = Math.min(Math.floor(rx / other.spacing), g - 1);
          claim += other.candidates[iy * g + ix]!.q;
        }
        const r = (c.q / claim) * c.e;
        acc[0] += (r * (c.position.y - n.target.y)) / (n.std * n.std);
        acc[1] += (r * (c.position.x - n.target.x)) / (n.std * n.std);
        acc[2] += r;
        acc[3] += qe * (c.offset.y ** 2 + c.offset.x ** 2);
        acc[4] += qe;
      }
      const fired = best !== undefined && best.q * best.e > 0;
      const py = Math.min(Math.max(fired ? best!.position.y : n.target.y, 0), h - 1);
      const px = Math.min(Math.max(fired ? best!.position.x : n.target.x, 0), w - 1);
      out.push({
        pos: [scale * py + offset, scale * px + offset],
        peak: fired ? best!.q * best!.e : 0,
        total: total / state.scoreScale,
        acc,
      });
    }
  }
  return out;
}
