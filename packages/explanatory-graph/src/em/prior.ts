import { nodeCount, type GraphLayerState, type Prior, type Records } from './state';

export interface ParentPriorOptions {
  /** The layer whose prior is built (its `parents` chosen). */
  readonly child: GraphLayerState;
  /** The layer above. */
  readonly upper: GraphLayerState;
  /** The layer above's records on the images the prior is for. */
  readonly upperRecords: Records;
  /** The layer above's mean positions, [U][y, x] pixels. */
  readonly upperMean: Float64Array;
}

/** One node's parents' votes in one image: displacements (child cells) and weights 1/σ_U². */
interface Votes {
  readonly dy: Float64Array;
  readonly dx: Float64Array;
  readonly wt: Float64Array;
}

/**
 * The parent-conditioned prior (docs/methods.md §3.5 a.3) for every image: parents' displacements
 * from their mean positions, converted to this layer's cells (the released code adds upper-layer
 * cells to lower-layer anchors unscaled — fixed here), weighted by 1/σ_U² (σ_U converted too).
 */
export function parentPrior(options: ParentPriorOptions): Prior {
  const { child, upperRecords } = options;
  const v = nodeCount(child);
  const p = child.params.parents;
  const n = upperRecords.n;
  const prior: Prior = {
    shift: new Float64Array(n * v * 2),
    std: new Float64Array(n * v),
    logLambda: new Float64Array(n * v),
  };
  const votes: Votes = { dy: new Float64Array(p), dx: new Float64Array(p), wt: new Float64Array(p) };
  for (let node = 0; node < v; node++) {
    const parents = child.parents.subarray(node * p, node * p + p);
    for (let i = 0; i < n; i++) {
      const used = collectVotes(options, { parents, image: i, votes });
      combineVotes(child, { prior, at: i * v + node, votes, used });
    }
  }
  return prior;
}

/** Fills `votes` with the image's votes of the node's parents (−1 = none); returns how many voted. */
function collectVotes(
  options: ParentPriorOptions,
  of: { parents: Int32Array; image: number; votes: Votes },
): number {
  const { child, upper, upperRecords, upperMean } = options;
  const { parents, image, votes } = of;
  const ratio = upper.geometry.scale / child.geometry.scale;
  let used = 0;
  for (let j = 0; j < parents.length; j++) {
    const u = parents[j]!;
    if (u < 0) continue;
    const cu = (image * upperRecords.nodes + u) * 2;
    votes.dy[used] = (upperRecords.pos[cu]! - upperMean[u * 2]!) / child.geometry.scale;
    votes.dx[used] = (upperRecords.pos[cu + 1]! - upperMean[u * 2 + 1]!) / child.geometry.scale;
    const su = upper.sigma[u]! * ratio;
    votes.wt[used] = 1 / (su * su);
    used++;
  }
  return used;
}

/**
 * The prior at `at` from the first `used` votes: shift = their weighted mean, std = (Σ w)^−½,
 * log λ = log std − Σ (‖mean − vote‖² / (2·consistency·σ²) + ½ log σ²); no votes: the initial std.
 */
function combineVotes(
  child: GraphLayerState,
  into: { prior: Prior; at: number; votes: Votes; used: number },
): void {
  const { prior, at, votes, used } = into;
  const { dy, dx, wt } = votes;
  if (used === 0) {
    prior.std[at] = child.params.initialStd;
    return;
  }
  let sw = 0;
  let sy = 0;
  let sx = 0;
  for (let j = 0; j < used; j++) {
    sw += wt[j]!;
    sy += wt[j]! * dy[j]!;
    sx += wt[j]! * dx[j]!;
  }
  const my = sy / sw;
  const mx = sx / sw;
  const std = Math.sqrt(1 / sw);
  let logLambda = Math.log(std);
  for (let j = 0; j < used; j++) {
    const s2 = 1 / wt[j]!;
    logLambda +=
      -((my - dy[j]!) ** 2 + (mx - dx[j]!) ** 2) / (2 * child.params.consistency * s2) - 0.5 * Math.log(s2);
  }
  prior.shift[at * 2] = my;
  prior.shift[at * 2 + 1] = mx;
  prior.std[at] = std;
  prior.logLambda[at] = logLambda;
}
