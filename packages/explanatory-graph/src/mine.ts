import {
  ACC_WIDTH,
  LayerEStep,
  emptyRecords,
  flatPrior,
  initLayer,
  meanPositions,
  minStdPerNode,
  mStep,
  nodeCount,
  parentCandidates,
  parentPrior,
  selectParents,
  type EvidenceMaps,
  type GraphLayerState,
  type LayerGeometry,
  type LayerParams,
  type Prior,
  type Records,
} from './em';

/** One graph layer's input: its evidence in the original view and mirrored (index 1). */
export interface LayerEvidence {
  readonly name: string;
  readonly geometry: LayerGeometry;
  readonly views: readonly [EvidenceMaps, EvidenceMaps];
}

export interface MiningProgress {
  readonly layer: string;
  readonly iteration: number;
  readonly iterations: number;
  /** Σ over images and nodes of S (unnormalised): the activation mass the layer's nodes explain. */
  readonly explained: number;
  readonly ms: number;
}

export interface MiningOptions {
  /** Per layer, top first. */
  readonly params: readonly LayerParams[];
  readonly random: () => number;
  readonly onProgress?: (p: MiningProgress) => void;
}

export interface MinedLayers {
  readonly states: GraphLayerState[];
  /** Per mining image: 1 when the mirrored view was used. */
  readonly flips: Uint8Array;
  /** Per layer: the mining images' records (in their chosen view's frame). */
  readonly records: Records[];
  /** Per layer: milliseconds spent. */
  readonly ms: number[];
}

/**
 * Learns the graph top-down (methods.md §3.2, §3.5): the top layer on its own, choosing per
 * image the view (original or mirrored) in which its nodes explain more activation mass; each
 * lower layer with the top layer's view choice, without parents in its first iteration and
 * with parents re-selected from the layer above in every later one.
 */
export function mineLayers(layers: readonly LayerEvidence[], o: MiningOptions): MinedLayers {
  if (layers.length !== o.params.length) throw new RangeError('one parameter set per layer');
  const n = layers[0]!.views[0].n;
  const flips = new Uint8Array(n);
  const states: GraphLayerState[] = [];
  const records: Records[] = [];
  const ms: number[] = [];
  layers.forEach((layer, l) => {
    const started = performance.now();
    const state = initLayer(o.params[l]!, layer.geometry, layer.views[0].c, o.random);
    const estep = new LayerEStep(state);
    const v = nodeCount(state);
    const upper = l > 0 ? { state: states[l - 1]!, records: records[l - 1]! } : undefined;
    const candidates = upper ? parentCandidates(upper.state, upper.records, state.params.parentPool) : [];
    let current = emptyRecords(n, v);
    let prior: Prior = flatPrior(state, 1);
    let shared = true;
    const pass = (acc?: Float64Array): number => {
      const next = emptyRecords(n, v);
      let explained = 0;
      if (!upper) {
        const scratch = [emptyRecords(1, v), emptyRecords(1, v)] as const;
        const part = [new Float64Array(v * ACC_WIDTH), new Float64Array(v * ACC_WIDTH)] as const;
        for (let i = 0; i < n; i++) {
          const mass = [0, 1].map((view) => {
            if (acc) part[view]!.fill(0);
            return estep.run(layer.views[view]!, i, prior, 0, scratch[view]!, 0, acc ? part[view] : undefined);
          });
          const view = mass[1]! > mass[0]! ? 1 : 0;
          flips[i] = view;
          copyRecord(scratch[view]!, 0, next, i);
          explained += mass[view]!;
          if (acc) for (let j = 0; j < acc.length; j++) acc[j]! += part[view]![j]!;
        }
      } else {
        for (let i = 0; i < n; i++) explained += estep.run(layer.views[flips[i]!]!, i, prior, shared ? 0 : i, next, i, acc);
      }
      current = next;
      return explained;
    };
    const iterations = state.params.iterations;
    for (let it = 1; it <= iterations; it++) {
      if (upper && it >= 2) {
        selectParents(state, current, candidates, upper.records, upper.state.meanPos);
        prior = parentPrior(state, upper.state, upper.records, upper.state.meanPos);
        shared = false;
      }
      const acc = new Float64Array(v * ACC_WIDTH);
      const t0 = performance.now();
      const explained = pass(acc);
      mStep(state, acc, minStdPerNode(prior, v), it);
      o.onProgress?.({ layer: layer.name, iteration: it, iterations, explained, ms: performance.now() - t0 });
    }
    // Records under the final anchors (the parents and prior of the last iteration).
    pass();
    state.meanPos.set(meanPositions(current));
    let sum = 0;
    for (const t of current.total) sum += t;
    state.scoreScale = sum / current.total.length || 1;
    for (let j = 0; j < current.total.length; j++) current.total[j]! /= state.scoreScale;
    states.push(state);
    records.push(current);
    ms.push(performance.now() - started);
  });
  return { states, flips, records, ms };
}

/**
 * Inference on new images (methods.md §3.5 with fixed parameters): the top layer picks each
 * image's view; each lower layer's nodes are placed with their parents' votes from this image.
 */
export function inferLayers(states: readonly GraphLayerState[], layers: readonly LayerEvidence[]): { records: Records[]; flips: Uint8Array } {
  const n = layers[0]!.views[0].n;
  const flips = new Uint8Array(n);
  const records: Records[] = [];
  states.forEach((state, l) => {
    const v = nodeCount(state);
    const estep = new LayerEStep(state);
    const out = emptyRecords(n, v);
    if (l === 0) {
      const prior = flatPrior(state, 1);
      const scratch = [emptyRecords(1, v), emptyRecords(1, v)] as const;
      for (let i = 0; i < n; i++) {
        const mass = [0, 1].map((view) => estep.run(layers[l]!.views[view]!, i, prior, 0, scratch[view]!, 0));
        const view = mass[1]! > mass[0]! ? 1 : 0;
        flips[i] = view;
        copyRecord(scratch[view]!, 0, out, i);
      }
    } else {
      const upper = states[l - 1]!;
      const prior = state.params.parents > 0 ? parentPrior(state, upper, records[l - 1]!, upper.meanPos) : flatPrior(state, n);
      for (let i = 0; i < n; i++) estep.run(layers[l]!.views[flips[i]!]!, i, prior, i, out, i);
    }
    records.push(out);
  });
  return { records, flips };
}

/** Positions in the original image's frame: mirrored views' x becomes width − x. */
export function imageFramePositions(records: Records, flips: Uint8Array, width: number): Float64Array {
  const pos = Float64Array.from(records.pos);
  for (let i = 0; i < records.n; i++) {
    if (!flips[i]) continue;
    for (let v = 0; v < records.nodes; v++) pos[(i * records.nodes + v) * 2 + 1] = width - pos[(i * records.nodes + v) * 2 + 1]!;
  }
  return pos;
}

function copyRecord(from: Records, i: number, to: Records, j: number): void {
  const v = from.nodes;
  to.pos.set(from.pos.subarray(i * v * 2, (i + 1) * v * 2), j * v * 2);
  to.peak.set(from.peak.subarray(i * v, (i + 1) * v), j * v);
  to.total.set(from.total.subarray(i * v, (i + 1) * v), j * v);
}
