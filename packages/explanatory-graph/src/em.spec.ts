import { describe, expect, it } from 'vitest';
import { Rng } from '@transplant/data';
import {
  ACC_WIDTH,
  LayerEStep,
  emptyRecords,
  initLayer,
  layerParams,
  nodeCount,
  type EvidenceMaps,
  type LayerGeometry,
  type Prior,
} from './em';
import { referenceEStep } from './reference';
import { imageFramePositions, inferLayers, mineLayers, type LayerEvidence } from './mine';

/** Maps whose filter f shows a small blob at each planted position spots(i)[f] (cells). */
function plantedMaps(n: number, size: number, spots: (i: number) => [number, number][][]): EvidenceMaps {
  const c = spots(0).length;
  const values = new Float32Array(n * c * size * size);
  for (let i = 0; i < n; i++) {
    spots(i).forEach((points, f) => {
      for (const [y, x] of points) {
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= size || xx >= size) continue;
            values[((i * c + f) * size + yy) * size + xx]! += dy === 0 && dx === 0 ? 2 : 0.5;
          }
        }
      }
    });
  }
  return { values, n, c, h: size, w: size };
}

function mirrored(maps: EvidenceMaps): EvidenceMaps {
  const values = new Float32Array(maps.values.length);
  for (let p = 0; p < maps.n * maps.c * maps.h; p++)
    for (let x = 0; x < maps.w; x++) values[p * maps.w + x] = maps.values[p * maps.w + maps.w - 1 - x]!;
  return { ...maps, values };
}

const TOP: LayerGeometry = { scale: 8, offset: 4.5, h: 8, w: 8 };
const LOW: LayerGeometry = { scale: 4, offset: 2.5, h: 16, w: 16 };

describe('explanatory-graph EM', () => {
  it('recovers two planted patterns of one filter: a node follows each across images', () => {
    const rng = new Rng('planted');
    const n = 40;
    const jitter = Array.from(
      { length: n },
      () => [rng.int(-1, 1), rng.int(-1, 1), rng.int(-1, 1), rng.int(-1, 1)] as const,
    );
    const spots = (i: number): [number, number][] => [
      [4 + jitter[i]![0], 4 + jitter[i]![1]],
      [11 + jitter[i]![2], 10 + jitter[i]![3]],
    ];
    const maps = plantedMaps(n, 16, (i) => [spots(i)]);
    // Nothing in the mirrored view: this test is about the EM, the next one about the views.
    const layer: LayerEvidence = {
      name: 'low',
      geometry: LOW,
      views: [maps, { ...maps, values: new Float32Array(maps.values.length) }],
    };
    const params = layerParams(16, 0.05, { top: true, iterations: 10 });
    const mined = mineLayers([layer], { params: [params], random: () => rng.next() });
    const state = mined.states[0]!;
    const pos = imageFramePositions(mined.records[0]!, mined.flips, 64);
    const v = nodeCount(state);
    for (const which of [0, 1]) {
      // The node whose image positions stay closest to the planted spot over all images.
      let best = Infinity;
      for (let node = 0; node < v; node++) {
        let worst = 0;
        for (let i = 0; i < n; i++) {
          const [y, x] = spots(i)[which]!;
          const d = Math.hypot(
            pos[(i * v + node) * 2]! - (4 * y + 2.5),
            pos[(i * v + node) * 2 + 1]! - (4 * x + 2.5),
          );
          worst = Math.max(worst, d);
        }
        best = Math.min(best, worst);
      }
      // Within one cell (4 pixels) in every image: the node tracks the pattern, not a fixed place.
      expect(best).toBeLessThan(4);
    }
  });

  it('links a lower pattern to the upper patterns it moves with, and places it by its parents', () => {
    const rng = new Rng('parents');
    const n = 40;
    const move = Array.from({ length: n }, () => [rng.int(0, 1), rng.int(0, 1)] as const);
    // The object moves by one upper cell or not at all; four upper filters see four of its parts.
    const parts: [number, number][] = [
      [2, 2],
      [2, 5],
      [5, 2],
      [5, 5],
    ];
    const upper = (i: number): [number, number][] =>
      parts.map(([y, x]) => [y + move[i]![0], x + move[i]![1]]);
    // The child sits between two of them; a distractor blob of the same filter wanders at random.
    const child = (i: number): [number, number] => [2 * (3 + move[i]![0]) + 1, 2 * (4 + move[i]![1])];
    const distractor = Array.from({ length: n }, () => [rng.int(0, 15), rng.int(0, 15)] as [number, number]);
    const top = plantedMaps(n, 8, (i) => upper(i).map((p) => [p]));
    const low = plantedMaps(n, 16, (i) => [[child(i), distractor[i]!]]);
    const empty = (m: EvidenceMaps) => ({ ...m, values: new Float32Array(m.values.length) });
    const layers: LayerEvidence[] = [
      { name: 'top', geometry: TOP, views: [top, empty(top)] },
      { name: 'low', geometry: LOW, views: [low, empty(low)] },
    ];
    const params = (parents: number) => [
      { ...layerParams(8, 0.1, { top: true, iterations: 12 }), nodesPerFilter: 16 },
      { ...layerParams(16, 0.05, { top: false, iterations: 12 }), parents },
    ];
    const seed = new Rng('mine');
    const mined = mineLayers(layers, { params: params(4), random: () => seed.next() });
    const [t, l] = mined.states as [(typeof mined.states)[0], (typeof mined.states)[0]];
    const inferred = inferLayers(mined.states, layers);
    expect(Array.from(inferred.flips)).toEqual(Array.from(mined.flips));
    const posTop = imageFramePositions(inferred.records[0]!, inferred.flips, 64);
    const posLow = imageFramePositions(inferred.records[1]!, inferred.flips, 64);
    const track = (
      pos: Float64Array,
      v: number,
      target: (i: number) => [number, number],
      g: LayerGeometry,
      nodes: number[],
    ) => {
      let bestNode = -1;
      let best = Infinity;
      for (const node of nodes) {
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const [y, x] = target(i);
          sum += Math.hypot(
            pos[(i * v + node) * 2]! - (g.scale * y + g.offset),
            pos[(i * v + node) * 2 + 1]! - (g.scale * x + g.offset),
          );
        }
        if (sum / n < best) [best, bestNode] = [sum / n, node];
      }
      return { node: bestNode, meanDistance: best };
    };
    const all = (v: number) => Array.from({ length: v }, (_, j) => j);
    const trackers = parts.map((_, f) =>
      track(
        posTop,
        nodeCount(t),
        (i) => upper(i)[f]!,
        TOP,
        all(16).map((j) => f * 16 + j),
      ),
    );
    for (const p of trackers) expect(p.meanDistance).toBeLessThan(6); // ¾ of an upper cell
    const found = track(posLow, nodeCount(l), child, LOW, all(nodeCount(l)));
    // Within ¾ of a lower cell on average, distractor and all.
    expect(found.meanDistance).toBeLessThan(3);
    const parents = Array.from(
      l.parents.subarray(found.node * l.params.parents, (found.node + 1) * l.params.parents),
    );
    // Its parents move with the object: their displacement from their mean follows the object's.
    const vt = nodeCount(t);
    const meanMove = [0, 1].map((a) => move.reduce((sum, m) => sum + m[a]!, 0) / n);
    const comoving = (u: number) => {
      const mean = [0, 1].map(
        (a) =>
          Array.from({ length: n }, (_, i) => posTop[(i * vt + u) * 2 + a]!).reduce((x, y) => x + y, 0) / n,
      );
      let off = 0;
      for (let i = 0; i < n; i++)
        off += Math.hypot(
          ...[0, 1].map((a) => posTop[(i * vt + u) * 2 + a]! - mean[a]! - 8 * (move[i]![a]! - meanMove[a]!)),
        );
      return off / n < 4;
    };
    expect(parents.filter((u) => u >= 0 && comoving(u)).length).toBeGreaterThanOrEqual(3);
  });

  it('chooses per image the view that brings every object to one orientation', () => {
    const rng = new Rng('views');
    const n = 40;
    const facing = Array.from({ length: n }, () => rng.chance(0.5));
    const jitter = Array.from({ length: n }, () => [rng.int(-1, 1), rng.int(-1, 1)] as const);
    // An asymmetric object: a strong blob on its left, a weaker one on its right; half face the other way.
    const spots = (i: number): [number, number][] => {
      const s: [number, number][] = [
        [5 + jitter[i]![0], 3 + jitter[i]![1]],
        [5 + jitter[i]![0], 3 + jitter[i]![1]],
        [10, 12],
      ];
      return facing[i] ? s.map(([y, x]) => [y, 15 - x]) : s;
    };
    const maps = plantedMaps(n, 16, (i) => [spots(i)]);
    const mined = mineLayers([{ name: 'low', geometry: LOW, views: [maps, mirrored(maps)] }], {
      params: [layerParams(16, 0.05, { top: true, iterations: 10 })],
      random: () => rng.next(),
    });
    const agree = facing.filter((f, i) => Number(f) === mined.flips[i]).length;
    expect(Math.max(agree, n - agree)).toBe(n);
  });

  it('the vectorised E-step computes what the direct transcription of §3.5 (b) computes', () => {
    const rng = new Rng('oracle');
    const n = 3;
    const maps: EvidenceMaps = {
      values: Float32Array.from({ length: n * 2 * 16 * 16 }, () => (rng.chance(0.3) ? rng.uniform(0, 3) : 0)),
      n,
      c: 2,
      h: 16,
      w: 16,
    };
    const state = initLayer({
      params: layerParams(16, 0.05, { top: false }),
      geometry: LOW,
      filters: 2,
      random: () => rng.next(),
    });
    state.sigma.forEach((_, v) => (state.sigma[v] = rng.uniform(0.3, 4)));
    state.scoreScale = 1.7;
    const v = nodeCount(state);
    const prior: Prior = {
      shift: Float64Array.from({ length: n * v * 2 }, () => rng.uniform(-3, 3)),
      std: Float64Array.from({ length: n * v }, () => rng.uniform(0.3, 3)),
      logLambda: Float64Array.from({ length: n * v }, () => rng.uniform(-4, 2)),
    };
    const estep = new LayerEStep(state);
    const records = emptyRecords(n, v);
    const acc = new Float64Array(v * ACC_WIDTH);
    const close = (a: number, b: number) =>
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
    const sums = new Float64Array(v * ACC_WIDTH);
    for (let i = 0; i < n; i++) {
      estep.run({ maps, image: i, prior, priorIndex: i, out: records, outIndex: i, acc });
      referenceEStep(state, { maps, image: i, prior, priorIndex: i }).forEach((r, node) => {
        close(records.pos[(i * v + node) * 2]!, r.pos[0]);
        close(records.pos[(i * v + node) * 2 + 1]!, r.pos[1]);
        close(records.peak[i * v + node]!, r.peak);
        close(records.total[i * v + node]!, r.total);
        r.acc.forEach((a, j) => (sums[node * ACC_WIDTH + j]! += a));
      });
    }
    sums.forEach((s, j) => close(acc[j]!, s));
    expect(records.peak.some((p) => p > 0)).toBe(true);
  });
});
