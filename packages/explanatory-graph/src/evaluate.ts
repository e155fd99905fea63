import { Rng, type PartName } from '@transplant/data';
import { partCentres, unitInstability } from '@transplant/interpretable';
import type { ExplanatoryGraph, GraphInference, InferredImages, MapView } from './graph';
import {
  fitFeatureRegressor,
  fitUnitLocator,
  locateWithUnits,
  normalizedDistance,
  predictWithFeatures,
  standardise,
  type Point,
  type UnitObservations,
} from './localize';

/** Every node of the graph as a unit (layers concatenated, top first): inferred position and s_V. */
export function graphObservations(graph: ExplanatoryGraph, inference: GraphInference): UnitObservations {
  const units = inference.layers.reduce((s, l) => s + l.nodes, 0);
  const n = inference.n;
  const pos = new Float64Array(n * units * 2);
  const score = new Float64Array(n * units);
  const floor = new Float64Array(units);
  let u0 = 0;
  inference.layers.forEach((l, li) => {
    floor.fill(graph.layers[li]!.state.geometry.scale, u0, u0 + l.nodes);
    for (let i = 0; i < n; i++) {
      pos.set(l.pos.subarray(i * l.nodes * 2, (i + 1) * l.nodes * 2), (i * units + u0) * 2);
      score.set(l.peak.subarray(i * l.nodes, (i + 1) * l.nodes), i * units + u0);
    }
    u0 += l.nodes;
  });
  return { n, units, pos, score, flips: inference.flips, floor };
}

export type { MapView } from './graph';

/**
 * The graph layers' raw filters as units: peak positions on the images as they are, or
 * (`chosen`) in the view the graph chose for each image, mapped back to the image (read while
 * inferring, `GraphInference.baselines`).
 */
export function rawFilterObservations(
  _graph: ExplanatoryGraph,
  inference: GraphInference,
  view: MapView = 'as-is',
): UnitObservations {
  return inference.baselines.filters[view];
}

/** Standardised pooled features of every image of both sets, read as they are or in the graph's chosen views. */
function pooledSets(sets: readonly GraphInference[], view: MapView): Float64Array[][] {
  // Copies: standardising is over these sets together, and the inferences stay as they were.
  const all = sets.flatMap((inf) => inf.baselines.pooled[view].map((f) => Float64Array.from(f)));
  standardise(all);
  let at = 0;
  return sets.map((inf) => {
    const part = all.slice(at, at + inf.n);
    at += inf.n;
    return part;
  });
}

export interface FewShotOptions {
  readonly shots: readonly number[];
  /** Random draws of the K shots per part. */
  readonly draws: number;
  /** Units the graph (and the filter ensemble) votes with. */
  readonly top: number;
  readonly seed: string;
  /**
   * Ridge strengths (per feature dimension) the two pooled-feature baselines are also fitted
   * with, each reported in `ridge`, so that a caller can choose λ on dev images (default: none;
   * `distance` always uses λ = 1).
   */
  readonly lambdas?: readonly number[];
}

/**
 * `graph`: the graph's nodes. Baselines of §9.3, on the images as they are: `filter-best` (the
 * single best-ranked raw filter), `filter-ensemble` (raw filters under the graph's own rule),
 * `pooled-linear` (ridge on pooled features). The `…-aligned` variants give the baselines the
 * graph's per-image view choice too (mirrored images read mirrored, predictions mapped back),
 * which separates what the nodes add from what the view alignment adds.
 */
export const LOCALIZATION_METHODS = [
  'graph',
  'filter-best',
  'filter-ensemble',
  'pooled-linear',
  'filter-ensemble-aligned',
  'pooled-linear-aligned',
] as const;
export type LocalizationMethod = (typeof LOCALIZATION_METHODS)[number];

export interface FewShotInput extends FewShotOptions {
  /** The images the K shots are drawn from. */
  readonly pool: InferredImages;
  /** The held-out images every method locates the parts in. */
  readonly test: InferredImages;
  readonly parts: readonly PartName[];
}

export interface KShotPredictionsOptions {
  readonly pool: InferredImages;
  /** The inference on the test images. */
  readonly test: GraphInference;
  readonly parts: readonly PartName[];
  readonly k: number;
  /** The test image predicted. */
  readonly index: number;
  /** Units the graph votes with (default 10). */
  readonly top?: number;
}

export interface GraphVsFilterStabilityOptions {
  readonly inference: GraphInference;
  /** Per landmark, its position in each image (null where absent). */
  readonly landmarks: readonly (readonly (Point | null)[])[];
  readonly topN: number;
  /** Normaliser of the distances (default: the image diagonal). */
  readonly diagonal?: number;
}

/** The two ridge baselines, whose λ a caller may tune. */
export const RIDGE_METHODS = ['pooled-linear', 'pooled-linear-aligned'] as const;
export type RidgeMethod = (typeof RIDGE_METHODS)[number];

export interface FewShotResult {
  readonly part: PartName;
  readonly k: number;
  /** Mean normalized distance over the test images and draws, per method. */
  readonly distance: Record<LocalizationMethod, number>;
  /** With `lambdas`: the ridge baselines' mean distance at each λ (in the order given). */
  readonly ridge?: Record<RidgeMethod, number[]>;
  readonly testImages: number;
}

/**
 * The few-shot protocol (docs/methods.md §3.6, §9.3): per part and K, `draws` random sets of K
 * annotated images from the shot pool; every method fitted on them locates the part in every
 * test image showing it; normalized distance (§1.5), averaged. Methods: the graph's nodes, the
 * single raw filter ranked best, an ensemble of raw filters under the graph's own rule, and
 * ridge regression on pooled features. Shot pool and test images are separate inferences.
 */
export function fewShotLocalization(graph: ExplanatoryGraph, options: FewShotInput): FewShotResult[] {
  const { pool, test, parts } = options;
  const size = graph.imageSize;
  const units = {
    pool: graphObservations(graph, pool.inference),
    test: graphObservations(graph, test.inference),
  };
  const filters = {
    pool: rawFilterObservations(graph, pool.inference),
    test: rawFilterObservations(graph, test.inference),
  };
  const alignedFilters = {
    pool: rawFilterObservations(graph, pool.inference, 'chosen'),
    test: rawFilterObservations(graph, test.inference, 'chosen'),
  };
  const [poolFeatures, testFeatures] = pooledSets([pool.inference, test.inference], 'as-is') as [
    Float64Array[],
    Float64Array[],
  ];
  const [poolAligned, testAligned] = pooledSets([pool.inference, test.inference], 'chosen') as [
    Float64Array[],
    Float64Array[],
  ];
  // Targets in each image's chosen view (x mirrored where the graph mirrored the image), for the aligned regressor.
  const inView = (targets: readonly (Point | null)[], flips: Uint8Array): (Point | null)[] =>
    targets.map((t, i) => (t && flips[i] ? [size - t[0], t[1]] : t));
  const back = (p: Point, flip: number | undefined): Point => (flip ? [size - p[0], p[1]] : p);
  const out: FewShotResult[] = [];
  for (const part of parts) {
    const poolTargets = partCentres(pool.images, part);
    const testTargets = partCentres(test.images, part);
    const candidates = poolTargets.flatMap((t, i) => (t ? [i] : []));
    const evaluated = testTargets.flatMap((t, i) => (t ? [i] : []));
    if (evaluated.length === 0) continue;
    for (const k of options.shots) {
      if (candidates.length < k) continue;
      const rng = new Rng(`${options.seed}:${part}:${k}`);
      const sums = Object.fromEntries(LOCALIZATION_METHODS.map((m) => [m, 0])) as Record<
        LocalizationMethod,
        number
      >;
      const lambdas = options.lambdas ?? [];
      const ridgeSums = {
        'pooled-linear': lambdas.map(() => 0),
        'pooled-linear-aligned': lambdas.map(() => 0),
      };
      for (let d = 0; d < options.draws; d++) {
        const shots = drawWithoutReplacement(candidates, k, rng);
        const graphLoc = fitUnitLocator(units.pool, { shots, targets: poolTargets, top: options.top });
        const bestFilter = fitUnitLocator(filters.pool, { shots, targets: poolTargets, top: 1 });
        const ensemble = fitUnitLocator(filters.pool, { shots, targets: poolTargets, top: options.top });
        const regressor = fitFeatureRegressor(poolFeatures, { shots, targets: poolTargets });
        const alignedEnsemble = fitUnitLocator(alignedFilters.pool, {
          shots,
          targets: poolTargets,
          top: options.top,
        });
        const alignedRegressor = fitFeatureRegressor(poolAligned, {
          shots,
          targets: inView(poolTargets, pool.inference.flips),
        });
        const swept = lambdas.map((lambda) => ({
          plain: fitFeatureRegressor(poolFeatures, { shots, targets: poolTargets, lambda }),
          aligned: fitFeatureRegressor(poolAligned, {
            shots,
            targets: inView(poolTargets, pool.inference.flips),
            lambda,
          }),
        }));
        for (const i of evaluated) {
          const truth = testTargets[i]!;
          sums.graph += normalizedDistance(locateWithUnits(graphLoc, units.test, i), truth, size);
          sums['filter-best'] += normalizedDistance(
            locateWithUnits(bestFilter, filters.test, i),
            truth,
            size,
          );
          sums['filter-ensemble'] += normalizedDistance(
            locateWithUnits(ensemble, filters.test, i),
            truth,
            size,
          );
          sums['pooled-linear'] += normalizedDistance(
            predictWithFeatures(regressor, testFeatures[i]!),
            truth,
            size,
          );
          sums['filter-ensemble-aligned'] += normalizedDistance(
            locateWithUnits(alignedEnsemble, alignedFilters.test, i),
            truth,
            size,
          );
          sums['pooled-linear-aligned'] += normalizedDistance(
            back(predictWithFeatures(alignedRegressor, testAligned[i]!), test.inference.flips[i]),
            truth,
            size,
          );
          swept.forEach((r, l) => {
            ridgeSums['pooled-linear'][l]! += normalizedDistance(
              predictWithFeatures(r.plain, testFeatures[i]!),
              truth,
              size,
            );
            ridgeSums['pooled-linear-aligned'][l]! += normalizedDistance(
              back(predictWithFeatures(r.aligned, testAligned[i]!), test.inference.flips[i]),
              truth,
              size,
            );
          });
        }
      }
      const count = options.draws * evaluated.length;
      out.push({
        part,
        k,
        testImages: evaluated.length,
        distance: Object.fromEntries(Object.entries(sums).map(([m, s]) => [m, s / count])) as Record<
          LocalizationMethod,
          number
        >,
        ...(lambdas.length
          ? {
              ridge: {
                'pooled-linear': ridgeSums['pooled-linear'].map((s) => s / count),
                'pooled-linear-aligned': ridgeSums['pooled-linear-aligned'].map((s) => s / count),
              },
            }
          : {}),
      });
    }
  }
  return out;
}

/**
 * The graph's predictions of each part in test image `i`, fitted on the first K pool images
 * that show the part (parts with fewer are left out): for pictures.
 */
export function kShotPredictions(
  graph: ExplanatoryGraph,
  options: KShotPredictionsOptions,
): { part: PartName; point: Point }[] {
  const { pool, test, parts, k, index: i, top = 10 } = options;
  const units = { pool: graphObservations(graph, pool.inference), test: graphObservations(graph, test) };
  return parts.flatMap((part) => {
    const targets = partCentres(pool.images, part);
    const shots = targets.flatMap((t, j) => (t ? [j] : [])).slice(0, k);
    return shots.length < k
      ? []
      : [
          {
            part,
            point: locateWithUnits(fitUnitLocator(units.pool, { shots, targets, top }), units.test, i),
          },
        ];
  });
}

/** K of the items drawn without replacement (a partial Fisher–Yates shuffle of a copy): the K-shot draws of `fewShotLocalization`. */
export function drawWithoutReplacement(items: readonly number[], k: number, rng: Rng): number[] {
  const copy = [...items];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

export interface UnitStability {
  /** Mean instability of the kept units per layer, and over layers. */
  readonly perLayer: number[];
  readonly mean: number;
  /** Units kept per layer. */
  readonly kept: number[];
}

export interface UnitStabilityOptions {
  /** Per image and unit, what ranks the units (graph: total S; filters: the peak). */
  readonly score: Float64Array;
  /** Per layer, its units' indices into the observations. */
  readonly layerUnits: readonly (readonly number[])[];
  readonly landmarks: readonly (readonly (Point | null)[])[];
  /** Images per unit: its best-scoring ones. */
  readonly topN: number;
  /** Units kept in layer l. */
  readonly keep: (layer: number) => number;
  /** Distances are divided by it (the image diagonal). */
  readonly diagonal: number;
}

/**
 * Location instability of units (docs/methods.md §3.7): per layer, units ranked by the mean of their
 * `topN` best scores; the best `keep(layer)` kept; each one's instability over its top-N images
 * (§1.3); the mean over kept units, then over layers. `layerUnits[l]` lists layer l's unit
 * indices into `obs`; `score` ranks (graph: total S; filters: the peak).
 */
export function unitStability(obs: UnitObservations, options: UnitStabilityOptions): UnitStability {
  const { score, layerUnits, landmarks, topN, keep, diagonal } = options;
  const n = obs.n;
  const perLayer: number[] = [];
  const kept: number[] = [];
  layerUnits.forEach((unitsOfLayer, l) => {
    const ranked = unitsOfLayer
      .map((u) => {
        const order = Array.from({ length: n }, (_, i) => i)
          .filter((i) => score[i * obs.units + u]! > 0)
          .sort((a, b) => score[b * obs.units + u]! - score[a * obs.units + u]! || a - b);
        const best = order.slice(0, topN);
        return { u, order, strength: best.reduce((s, i) => s + score[i * obs.units + u]!, 0) / topN };
      })
      .sort((a, b) => b.strength - a.strength || a.u - b.u)
      .slice(0, keep(l));
    const values = ranked
      .map(({ u, order }) =>
        unitInstability(
          order,
          (i) => [obs.pos[(i * obs.units + u) * 2 + 1]!, obs.pos[(i * obs.units + u) * 2]!],
          landmarks,
          { topN, diagonal },
        ),
      )
      .filter((v) => !Number.isNaN(v));
    kept.push(values.length);
    perLayer.push(values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN);
  });
  const valid = perLayer.filter((v) => !Number.isNaN(v));
  return { perLayer, kept, mean: valid.reduce((s, v) => s + v, 0) / Math.max(valid.length, 1) };
}

/**
 * Nodes vs raw filters (docs/methods.md §3.7): the same number of units per layer for both — the
 * authors' 167 of VGG-16's 512 filters, scaled to this layer's filter count — ranked and
 * measured over their top-N images, with the given landmarks.
 */
export function graphVsFilterStability(
  graph: ExplanatoryGraph,
  options: GraphVsFilterStabilityOptions,
): { nodes: UnitStability; filters: UnitStability } {
  const { inference, landmarks, topN } = options;
  const diagonal = options.diagonal ?? Math.hypot(graph.imageSize, graph.imageSize);
  const keep = (l: number) => Math.ceil((167 / 512) * graph.layers[l]!.state.filters);
  const nodes = graphObservations(graph, inference);
  const totals = new Float64Array(nodes.n * nodes.units);
  let u0 = 0;
  const nodeLayers: number[][] = [];
  inference.layers.forEach((l) => {
    for (let i = 0; i < nodes.n; i++)
      totals.set(l.total.subarray(i * l.nodes, (i + 1) * l.nodes), i * nodes.units + u0);
    nodeLayers.push(Array.from({ length: l.nodes }, (_, j) => u0 + j));
    u0 += l.nodes;
  });
  const filters = rawFilterObservations(graph, inference);
  let f0 = 0;
  const filterLayers = graph.layers.map((l) => {
    const ids = Array.from({ length: l.state.filters }, (_, j) => f0 + j);
    f0 += l.state.filters;
    return ids;
  });
  return {
    nodes: unitStability(nodes, { score: totals, layerUnits: nodeLayers, landmarks, topN, keep, diagonal }),
    filters: unitStability(filters, {
      score: filters.score,
      layerUnits: filterLayers,
      landmarks,
      topN,
      keep,
      diagonal,
    }),
  };
}
