import { ACC_WIDTH, nodeCount, type GraphLayerState, type Prior } from './state';

export interface MStepInput {
  /** The E-step sums over the mining images, [V][ACC_WIDTH]. */
  readonly acc: Float64Array;
  /** Per node, its smallest prior std over the images (`minStdPerNode`). */
  readonly minStd: Float64Array;
  /** 1-based; the anchor step is damped by its square root. */
  readonly iteration: number;
}

/**
 * M-step (docs/methods.md §3.5 c): anchors move by η·σ²_min·Σ r·(p − t)/σ̄² / Σ r, damped by
 * iteration^½; σ_V becomes the q·e-weighted rms offset of the candidates, clamped to the
 * layer's bounds. One change: σ_min is the node's own smallest prior std over the images
 * (`minStd[v]`), not the layer's — with the layer-wide minimum, one node whose parents agree
 * tightly freezes every other node's anchor after the first iteration.
 */
export function mStep(state: GraphLayerState, input: MStepInput): void {
  const { acc, minStd, iteration } = input;
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
