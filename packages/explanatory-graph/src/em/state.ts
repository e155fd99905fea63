/**
 * The data of the per-layer EM (docs/methods.md §3.5): evidence, hyper-parameters, a layer's
 * learned state, per-image records and priors, all flat typed arrays.
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

/** Hyper-parameters of one graph layer (docs/methods.md §3.4, scaled to the map: see `layerParams`). */
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
  options: { top: boolean; iterations?: number },
): LayerParams {
  const sigmaMax = 1 / Math.sqrt(density);
  return {
    nodesPerFilter: Math.ceil(h * h * density),
    parents: options.top ? 0 : 15,
    parentPool: 600,
    candidates: 6,
    searchFraction: 0.3,
    mapDelta: Math.max(0.025 * h, 0.5),
    initialStd: 0.15 * h,
    sigmaMax,
    sigmaMin: sigmaMax / 10,
    background: 0.1,
    iterations: options.iterations ?? 20,
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

/** Per image and node: the parent-conditioned prior (docs/methods.md §3.5 a). */
export interface Prior {
  /** δ_V(I), [N][V][row, col] cells. */
  readonly shift: Float64Array;
  /** σ̄_V(I), cells. */
  readonly std: Float64Array;
  /** log λ_V(I). */
  readonly logLambda: Float64Array;
}

/** Sums the M-step needs, per node: Σ r·(p − t)/σ̄² (2), Σ r, Σ q·e·‖o‖², Σ q·e. */
export const ACC_WIDTH = 5;

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

export interface InitLayerOptions {
  readonly params: LayerParams;
  readonly geometry: LayerGeometry;
  readonly filters: number;
  /** Uniform in [0, 1), seeded: the anchors' only randomness. */
  readonly random: () => number;
}

/** Anchors at random distinct cells per filter (seeded), σ at its upper bound. */
export function initLayer(options: InitLayerOptions): GraphLayerState {
  const { params, geometry, filters, random } = options;
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
