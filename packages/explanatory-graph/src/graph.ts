import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { Rng } from '@transplant/data';
import {
  cellGeometry,
  findLayer,
  imagesTensor,
  layerActivations,
  type PartImages,
} from '@transplant/interpretable';
import {
  layerParams,
  nodeCount,
  type EvidenceMaps,
  type GraphLayerState,
  type LayerParams,
  type Records,
} from './em';
import {
  alignViews,
  imageFramePositions,
  inferLayers,
  mineLayers,
  type LayerEvidence,
  type MiningProgress,
  type ViewRule,
} from './mine';
import { filterObservations, pooledFeatures, type UnitObservations } from './localize';
import type { GraphViewRule } from './options';

export const GRAPH_FORMAT = 'transplant-explanatory-graph/1';

export interface Link {
  readonly category: string;
  readonly task: string;
}

/** A network and the link (category module, task module) whose category module is explained. */
export interface LinkedNetwork {
  readonly network: Network;
  readonly link: Link;
}

/** One layer of a mined graph: the EM state and the negatives' activation std it normalises by. */
export interface GraphLayer {
  /** Module-qualified layer name (`cat-cls-features:block4_conv1`). */
  readonly name: string;
  readonly state: GraphLayerState;
  /** σ_neg per cell and channel, [h][w][C]. */
  readonly normaliser: Float32Array;
}

/** The category module a graph explains, pinned: a graph is only valid for those exact weights. */
export interface GraphSubject {
  readonly network: string;
  readonly link: Link;
  readonly module: string;
  readonly version?: string;
  readonly digest?: string;
}

export interface ExplanatoryGraph {
  readonly format: typeof GRAPH_FORMAT;
  readonly subject: GraphSubject;
  readonly imageSize: number;
  readonly views: { readonly rule: GraphViewRule; readonly template?: Float32Array };
  /** Top layer first. */
  readonly layers: GraphLayer[];
  readonly mining: {
    readonly images: number;
    readonly negatives: number;
    readonly data: string;
    readonly seed: string;
    /** Milliseconds per layer (EM only), and for reading the feature maps. */
    readonly layerMs: number[];
    readonly featureMs: number;
    readonly createdAt: string;
  };
}

export interface MineGraphOptions {
  /** The network's registry reference, for the record (`cat-cls@1.1.0`). */
  readonly network?: string;
  /** Layers to explain (module-local or MODULE:LAYER); default: the category module's top two conv layers. */
  readonly layers?: readonly string[];
  /** Nodes per filter = ⌈h·w·density⌉ per layer (top first); default 0.1 for the top layer, 0.05 below (the authors' conv5 / conv4). */
  readonly densities?: readonly number[];
  readonly iterations?: number;
  readonly seed?: string;
  readonly onProgress?: (p: MiningProgress) => void;
  /** How each image's view (as is, or mirrored) is chosen (default `align`). */
  readonly views?: GraphViewRule;
  /** Overrides of the derived hyper-parameters, applied to every layer. */
  readonly params?: Partial<LayerParams>;
}

/** What mineGraph mines on: the category's images and the negatives of the activation normaliser. */
export interface MineGraphInput extends MineGraphOptions {
  /** One category, object crops, no labels. */
  readonly images: PartImages;
  /** Background scenes; the maps are normalised by their std over these. */
  readonly negatives: PartImages;
}

/** Annotated images and the graph's inference on them. */
export interface InferredImages {
  readonly images: PartImages;
  readonly inference: GraphInference;
}

export interface InferGraphOptions extends LinkedNetwork {
  readonly images: PartImages;
  /** Each image's view (0 as is, 1 mirrored); default: the graph's view rule. */
  readonly views?: Uint8Array;
  /** Images read and inferred at a time (default INFER_CHUNK); the result does not depend on it. */
  readonly chunk?: number;
}

const invalid = (message: string) =>
  new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'graph' });

/** The category module's conv layers, top two, module-qualified (the default graph layers). */
export function defaultGraphLayers(network: Network, link: Link): string[] {
  const m = network.module(link.category);
  // Keras Conv2D layers, or the conv ops of an imported TF graph (one TransplantTfOp layer per node).
  const isConv = (l: tf.layers.Layer) =>
    l.getClassName() === 'Conv2D' ||
    (l.getClassName() === 'TransplantTfOp' &&
      ['Conv2D', '_FusedConv2D'].includes(
        String((l.getConfig()['op'] as { node?: { op?: unknown } } | undefined)?.node?.op),
      ));
  const convs = m.model.layers.filter(isConv).map((l) => `${m.name}:${l.name.slice(m.prefix.length)}`);
  if (convs.length === 0) throw invalid(`${m.name} has no conv layer to explain`);
  return convs.slice(-2).reverse();
}

/** Feature maps of the named layers over the images, as they are and mirrored; [N, h, w, C] each. */
export function readLayerMaps(
  { network, link }: LinkedNetwork,
  options: {
    readonly layers: readonly string[];
    readonly images: PartImages;
    /** Read the mirrored images too (a second view per layer). */
    readonly mirrored: boolean;
    /** Only images [from, to) (default: all). */
    readonly from?: number;
    readonly to?: number;
  },
): { name: string; geometry: ReturnType<typeof cellGeometry>; maps: Float32Array[] }[] {
  const { layers, images, mirrored } = options;
  const first = options.from ?? 0;
  const end = options.to ?? images.samples.length;
  const refs = layers.map((name) => findLayer(network, link, name));
  const out = refs.map((ref) => ({
    name: `${ref.module.name}:${ref.name}`,
    geometry: cellGeometry(ref),
    maps: [] as Float32Array[],
    parts: [[], []] as Float32Array[][],
  }));
  const views = mirrored ? 2 : 1;
  for (let from = first; from < end; from += 50) {
    const batch = imagesTensor(images, from, Math.min(from + 50, end));
    for (let view = 0; view < views; view++) {
      const input = view === 0 ? batch : tf.reverse(batch, 2);
      refs.forEach((ref, l) => {
        const maps = layerActivations(ref, input);
        out[l]!.parts[view]!.push(maps.dataSync() as Float32Array);
        maps.dispose();
      });
      if (input !== batch) input.dispose();
    }
    batch.dispose();
  }
  return out.map((layer) => ({
    name: layer.name,
    geometry: layer.geometry,
    maps: layer.parts.slice(0, views).map(concat),
  }));
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * σ_neg per cell and channel over the negatives' maps (docs/methods.md §3.3), floored so that units
 * silent on every negative do not divide by zero: at a tenth of the channel's mean σ_neg, and at
 * a hundredth of the layer's.
 */
export function negativeStd(maps: Float32Array, n: number, cells: number, c: number): Float32Array {
  const mean = new Float64Array(cells * c);
  const sq = new Float64Array(cells * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cells * c; j++) {
      const v = maps[i * cells * c + j]!;
      mean[j]! += v / n;
      sq[j]! += (v * v) / n;
    }
  }
  const std = Float64Array.from(mean, (m, j) => Math.sqrt(Math.max(sq[j]! - m * m, 0)));
  const channel = new Float64Array(c);
  for (let j = 0; j < cells * c; j++) channel[j % c]! += std[j]! / cells;
  const layer = channel.reduce((s, v) => s + v, 0) / c;
  return Float32Array.from(std, (s, j) => Math.max(s, 0.1 * channel[j % c]!, 0.01 * layer, 1e-6));
}

/** max(x, 0) / σ_neg, transposed to [N][C][h][w] for the EM. */
export function evidenceMaps(
  maps: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  normaliser: Float32Array,
): EvidenceMaps {
  const values = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * w; p++) {
      const src = (i * h * w + p) * c;
      for (let f = 0; f < c; f++) {
        const x = maps[src + f]!;
        if (x > 0) values[(i * c + f) * h * w + p] = x / normaliser[p * c + f]!;
      }
    }
  }
  return { values, n, c, h, w };
}

function layerEvidence(
  read: ReturnType<typeof readLayerMaps>,
  n: number,
  normalisers: Float32Array[],
): LayerEvidence[] {
  return read.map((r, l) => {
    const [h, w] = r.geometry.mapSize;
    const c = r.maps[0]!.length / (n * h * w);
    const views = r.maps.map((m) => evidenceMaps(m, n, h, w, c, normalisers[l]!));
    return {
      name: r.name,
      geometry: { scale: r.geometry.scale, offset: r.geometry.offset, h, w },
      views: [views[0]!, views[1] ?? views[0]!] as const,
    };
  });
}

/**
 * Mines an explanatory graph from a frozen network (docs/methods.md §3): the chosen conv layers'
 * maps over `images` (one category, object crops, no labels), normalised by their std over
 * `negatives`, learned top-down by EM.
 */
export function mineGraph(
  { network, link }: LinkedNetwork,
  options: MineGraphInput,
): { graph: ExplanatoryGraph; records: Records[]; flips: Uint8Array } {
  const { images, negatives } = options;
  const layers = options.layers?.length ? options.layers : defaultGraphLayers(network, link);
  const size = network.module(link.category).ports.input.shape[1]!;
  if (images.size !== size || negatives.size !== size)
    throw invalid(
      `the network takes ${size}-pixel images; got ${images.size} (images) and ${negatives.size} (negatives)`,
    );
  const t0 = performance.now();
  const read = readLayerMaps({ network, link }, { layers, images, mirrored: true });
  const neg = readLayerMaps({ network, link }, { layers, images: negatives, mirrored: false });
  const featureMs = performance.now() - t0;
  const n = images.samples.length;
  const normalisers = neg.map((r) => {
    const [h, w] = r.geometry.mapSize;
    return negativeStd(
      r.maps[0]!,
      negatives.samples.length,
      h * w,
      r.maps[0]!.length / (negatives.samples.length * h * w),
    );
  });
  const evidence = layerEvidence(read, n, normalisers);
  const params = evidence.map((e, l) => ({
    ...layerParams(e.geometry.h, options.densities?.[l] ?? (l === 0 ? 0.1 : 0.05), {
      top: l === 0,
      ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
    }),
    ...options.params,
    // The top layer has no layer above it, whatever the overrides say.
    ...(l === 0 ? { parents: 0 } : {}),
  }));
  const seed = options.seed ?? 'explanatory-graph';
  const rng = new Rng(seed);
  const rule = options.views ?? 'align';
  const top = read[0]!;
  const [th, tw] = top.geometry.mapSize;
  const topMaps = top.maps.map((m) => ({ values: m, n, c: m.length / (n * th * tw), h: th, w: tw }));
  const aligned = rule === 'align' ? alignViews(topMaps) : undefined;
  const views: ViewRule = aligned ?? (rule === 'fit' ? 'choose' : 'original');
  const mined = mineLayers(evidence, {
    params,
    random: () => rng.next(),
    views,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const category = network.module(link.category);
  const graph: ExplanatoryGraph = {
    format: GRAPH_FORMAT,
    subject: {
      network: options.network ?? `${link.category} → ${link.task}`,
      link: { category: link.category, task: link.task },
      module: category.name,
      ...(category.published
        ? { version: category.published.version, digest: category.published.digest }
        : {}),
    },
    imageSize: size,
    views: { rule, ...(aligned ? { template: viewTemplate(topMaps, aligned) } : {}) },
    layers: mined.states.map((state, l) => ({ name: evidence[l]!.name, state, normaliser: normalisers[l]! })),
    mining: {
      images: n,
      negatives: negatives.samples.length,
      data: images.describe,
      seed,
      layerMs: mined.ms,
      featureMs,
      createdAt: new Date().toISOString(),
    },
  };
  return { graph, records: mined.records, flips: mined.flips };
}

/** Per image and node of every layer: the inferred position in the original image, and the scores. */
export interface GraphInference {
  readonly n: number;
  readonly flips: Uint8Array;
  readonly layers: {
    readonly nodes: number;
    readonly pos: Float64Array;
    readonly peak: Float64Array;
    readonly total: Float64Array;
  }[];
  /**
   * What the filter and pooled-feature baselines read of the raw maps, per image, with the
   * images as they are (`as-is`) and in the views the graph chose (`chosen`): each graph layer's
   * filters as units (peak position and value, `filterObservations`) and the pooled features
   * (`pooledFeatures`, not standardised). The maps themselves are not kept: inference streams
   * over the images, a chunk at a time.
   */
  readonly baselines: {
    readonly filters: Readonly<Record<MapView, UnitObservations>>;
    readonly pooled: Readonly<Record<MapView, Float64Array[]>>;
  };
}

/** Which view of each image maps are read in: as it is, or the one the graph chose (original or mirrored). */
export type MapView = 'as-is' | 'chosen';

/** Images inferGraph reads and infers at a time: their maps, evidence and tensors are what it holds. */
export const INFER_CHUNK = 16;

/** Checks that the network's category module is the one the graph was mined from. */
export function assertGraphFits(graph: ExplanatoryGraph, network: Network, link: Link): void {
  const m = network.module(link.category);
  const s = graph.subject;
  const wrong =
    m.name !== s.module ||
    (s.digest !== undefined && m.published !== undefined && m.published.digest !== s.digest);
  if (wrong) {
    throw new TransplantError(
      'E_GRAPH_MISMATCH',
      `this graph explains ${s.module}${s.version ? `@${s.version}` : ''}; the link's category module is ${m.name}${m.published ? `@${m.published.version}` : ''}`,
      { operation: 'graph' },
    );
  }
}

/**
 * Node positions and scores on new images (docs/methods.md §3.5 with the learned parameters),
 * and what the baselines need of the raw maps. Streams over the images, `chunk` at a time: the
 * inference of one image does not depend on the others, so only a chunk's maps and evidence are
 * ever held, whatever the image count and map size.
 */
export function inferGraph(graph: ExplanatoryGraph, options: InferGraphOptions): GraphInference {
  const { network, link, images, views } = options;
  assertGraphFits(graph, network, link);
  const n = images.samples.length;
  const chunk = Math.max(1, options.chunk ?? INFER_CHUNK);
  const size = graph.imageSize;
  const states = graph.layers.map((l) => l.state);
  const nodes = states.map(nodeCount);
  const flips = new Uint8Array(n);
  const layers = nodes.map((v) => ({
    nodes: v,
    pos: new Float64Array(n * v * 2),
    peak: new Float64Array(n * v),
    total: new Float64Array(n * v),
  }));
  const filterUnits = states.reduce((t, st) => t + st.filters, 0);
  const filters = (['as-is', 'chosen'] as const).map((view) => ({
    view,
    pos: new Float64Array(n * filterUnits * 2),
    score: new Float64Array(n * filterUnits),
    floor: new Float64Array(filterUnits),
  }));
  const pooled: Record<MapView, Float64Array[]> = { 'as-is': [], chosen: [] };
  const shapes = states.map((st) => [st.geometry.h, st.geometry.w, st.filters] as const);
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(from + chunk, n);
    const m = to - from;
    const read = readLayerMaps(
      { network, link },
      { layers: graph.layers.map((l) => l.name), images, mirrored: true, from, to },
    );
    const evidence = layerEvidence(
      read,
      m,
      graph.layers.map((l) => l.normaliser),
    );
    let rule: ViewRule = views?.subarray(from, to) ?? (graph.views.rule === 'fit' ? 'choose' : 'original');
    if (!views && graph.views.rule === 'align' && graph.views.template)
      rule = templateViews(read[0]!.maps, m, graph.views.template);
    const inferred = inferLayers(states, evidence, rule);
    flips.set(inferred.flips, from);
    inferred.records.forEach((r, l) => {
      const out = layers[l]!;
      out.pos.set(imageFramePositions(r, inferred.flips, size), from * r.nodes * 2);
      out.peak.set(r.peak, from * r.nodes);
      out.total.set(r.total, from * r.nodes);
    });
    const maps = read.map((r, l) => ({
      views: r.maps,
      h: states[l]!.geometry.h,
      w: states[l]!.geometry.w,
      c: states[l]!.filters,
      scale: states[l]!.geometry.scale,
      offset: states[l]!.geometry.offset,
    }));
    for (const f of filters) {
      const seen = filterObservations(
        maps,
        m,
        f.view === 'chosen' ? { flips: inferred.flips, width: size } : undefined,
      );
      f.pos.set(seen.pos, from * filterUnits * 2);
      f.score.set(seen.score, from * filterUnits);
      f.floor.set(seen.floor);
    }
    for (let i = 0; i < m; i++) {
      pooled['as-is'].push(
        pooledFeatures(
          read.map((r) => r.maps[0]!),
          shapes,
          i,
        ),
      );
      pooled.chosen.push(
        pooledFeatures(
          read.map((r) => r.maps[inferred.flips[i]!]!),
          shapes,
          i,
        ),
      );
    }
  }
  const [asIs, chosen] = filters.map(({ view: _, ...f }) => ({ n, units: filterUnits, ...f }));
  return {
    n,
    flips,
    layers,
    baselines: {
      filters: { 'as-is': asIs!, chosen: { ...chosen!, flips } },
      pooled,
    },
  };
}

const unit = (v: Float32Array, from: number, d: number) => {
  let s = 0;
  for (let j = from; j < from + d; j++) s += v[j]! * v[j]!;
  return Math.sqrt(s) || 1;
};

/** The mean of the aligned images' unit-normalised top-layer maps. */
function viewTemplate(
  maps: readonly { values: Float32Array; n: number; c: number; h: number; w: number }[],
  flips: Uint8Array,
): Float32Array {
  const m0 = maps[0]!;
  const d = m0.c * m0.h * m0.w;
  const out = new Float32Array(d);
  for (let i = 0; i < m0.n; i++) {
    const m = maps[flips[i]!]!;
    const len = unit(m.values, i * d, d);
    for (let j = 0; j < d; j++) out[j]! += m.values[i * d + j]! / (len * m0.n);
  }
  return out;
}

/** Per image, 1 where the mirrored top-layer map is closer (cosine) to the template. */
function templateViews(maps: readonly Float32Array[], n: number, template: Float32Array): Uint8Array {
  const d = template.length;
  return Uint8Array.from({ length: n }, (_, i) => {
    const score = maps.map((m) => {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += m[i * d + j]! * template[j]!;
      return dot / unit(m, i * d, d);
    });
    return score[1]! > score[0]! ? 1 : 0;
  });
}

/** Nodes in the graph, per layer and in all. */
export function graphSize(graph: ExplanatoryGraph): { perLayer: number[]; total: number } {
  const perLayer = graph.layers.map((l) => nodeCount(l.state));
  return { perLayer, total: perLayer.reduce((s, v) => s + v, 0) };
}
