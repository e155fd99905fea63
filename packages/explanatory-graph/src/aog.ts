/**
 * An And-Or graph (AOG) of semantic parts on top of an explanatory graph (docs/methods.md §3.8):
 * object (AND) → one AND node per semantic part → an OR node over two part templates (one per
 * view the graph read the shots in: as mined, mirrored) → per template the graph nodes (latent
 * patterns) whose inferred positions predict the part, each with a displacement and a weight →
 * each node's neural unit (layer, filter). Learned from 1–3 annotated images per part;
 * localization is the best parse.
 *
 * What the OR does and does not do: both templates apply in the graph's aligned frame (the
 * displacements are stored there and turned by the image's own view), so a template is not a
 * pose — the two differ only in which shots they learned from. A view without a shot gets a copy
 * of the other template; then, and whenever the two score the same, the parse makes no OR choice.
 */
import { TransplantError, sha256Digest } from '@transplant/core';
import { encodeGraph } from './artifact';
import { graphObservations } from './evaluate';
import type { ExplanatoryGraph, GraphInference, GraphSubject } from './graph';
import type { Point } from './localize';

export const AOG_FORMAT = 'transplant-aog/1';

/** The views a template's shots were read in: images the graph read as they are (0) or mirrored (1). */
export const AOG_VIEWS = ['as mined', 'mirrored'] as const;

/** A latent pattern (a graph node) of a template, with the neural unit it is a pattern of. */
export interface AogNode {
  /** Graph layer (0 = top) and node index in it. */
  readonly layer: number;
  readonly node: number;
  /** The node's filter in its conv layer (module-qualified layer name). */
  readonly unit: { readonly layer: string; readonly filter: number };
  /** Mean displacement part − node over the template's shots, pixels, in the canonical (aligned) frame. */
  readonly dy: number;
  readonly dx: number;
  /** How far the node's predictions of the part scatter, pixels (shots shrunk towards the node's σ in the graph). */
  readonly spread: number;
  /** Its vote's weight: mean shot score / (spread² + floor²). */
  readonly weight: number;
}

/**
 * One OR branch of a part: a template learned from the shots the graph read in one view, or (no
 * such shot) a copy of the other template. Either way it applies in the graph's aligned frame.
 */
export interface AogTemplate {
  readonly view: 0 | 1;
  /** `shots`: learned from this view's shots; `mirror`: no shot in this view, a copy of the other template's nodes. */
  readonly source: 'shots' | 'mirror';
  /** Shots this template's nodes were learned from (indices into the learning images; a copy: the other template's). */
  readonly shots: readonly number[];
  readonly nodes: readonly AogNode[];
}

/** The AND node of one semantic part and its OR node over templates. */
export interface AogPart {
  readonly part: string;
  readonly templates: readonly AogTemplate[];
}

export interface AndOrGraph {
  readonly format: typeof AOG_FORMAT;
  /** The category module of the explanatory graph (and so of the AOG). */
  readonly subject: GraphSubject;
  /** The graph the AOG was learned on: the digest of its file bytes and its node count per layer. */
  readonly graph: {
    readonly digest: string;
    readonly nodes: readonly number[];
    readonly layers: readonly string[];
  };
  readonly imageSize: number;
  readonly parts: readonly AogPart[];
  readonly learning: {
    /** Nodes per template (at most). */
    readonly top: number;
    /** Where the annotated images came from. */
    readonly data: string;
    readonly seed?: string;
    readonly createdAt: string;
  };
}

/** One part's annotation: which images are its shots, and the part centre [x, y] per image (null where absent). */
export interface PartShots {
  readonly part: string;
  readonly shots: readonly number[];
  readonly targets: readonly (Point | null)[];
}

export interface LearnAogOptions {
  readonly parts: readonly PartShots[];
  /** Nodes kept per template (default 10). */
  readonly top?: number;
  readonly data?: string;
  readonly seed?: string;
}

const invalid = (message: string) => new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'aog' });

/** The digest of a graph's file bytes: what an AOG records of the graph it was learned on. */
export const graphDigest = (graph: ExplanatoryGraph): string => sha256Digest(encodeGraph(graph));

/**
 * Learns the AOG of the annotated parts from the graph's inference on the annotated images
 * (docs/methods.md §3.8). Per part, the shots are split by the view the graph read them in;
 * per view with shots, every node that fires in all of them is a candidate: its displacement is
 * the mean of part − node (canonical frame), its spread the rms of those displacements shrunk
 * towards its σ in the graph (the only spread one shot gives), its weight mean score /
 * (spread² + floor²), floor its layer's cell size; the `top` heaviest are the template. A view
 * without a shot gets a copy of the other view's template (unchanged: both apply in the aligned
 * frame, so the copy scores exactly as the original and a parse makes no OR choice between them).
 */
export function learnAog(
  graph: ExplanatoryGraph,
  inference: GraphInference,
  options: LearnAogOptions,
): AndOrGraph {
  assertInferenceFits(graph, inference);
  const top = options.top ?? 10;
  if (!Number.isInteger(top) || top < 1) throw invalid(`top must be a positive integer; got ${top}`);
  if (options.parts.length === 0) throw invalid('no part to learn: annotate at least one part');
  const obs = graphObservations(graph, inference);
  const layerOf: { layer: number; node: number }[] = [];
  inference.layers.forEach((l, li) => {
    for (let v = 0; v < l.nodes; v++) layerOf.push({ layer: li, node: v });
  });
  const sigmaPx = Float64Array.from(layerOf, ({ layer, node }) => {
    const s = graph.layers[layer]!.state;
    return s.sigma[node]! * s.geometry.scale;
  });
  const parts = options.parts.map(({ part, shots, targets }): AogPart => {
    if (shots.length === 0) throw invalid(`part "${part}" has no annotated shot`);
    for (const i of shots) {
      if (!Number.isInteger(i) || i < 0 || i >= inference.n)
        throw invalid(`part "${part}": shot ${i} is not one of the ${inference.n} images`);
      if (!targets[i]) throw invalid(`part "${part}" is not annotated in shot image ${i}`);
    }
    const byView = [0, 1].map((v) => shots.filter((i) => (inference.flips[i] ?? 0) === v));
    const learned = byView.map((viewShots) =>
      viewShots.length ? templateNodes(graph, obs, layerOf, sigmaPx, viewShots, targets, top) : null,
    );
    if (learned.every((t) => t === null || t.length === 0))
      throw invalid(
        `part "${part}": no graph node fires in all of its shots in a view; annotate other images`,
      );
    const templates = [0, 1].map((v): AogTemplate => {
      const own = learned[v];
      if (own && own.length) return { view: v as 0 | 1, source: 'shots', shots: byView[v]!, nodes: own };
      const other = learned[1 - v]!;
      return { view: v as 0 | 1, source: 'mirror', shots: byView[1 - v]!, nodes: other };
    });
    return { part, templates };
  });
  return {
    format: AOG_FORMAT,
    subject: graph.subject,
    graph: {
      digest: graphDigest(graph),
      nodes: inference.layers.map((l) => l.nodes),
      layers: graph.layers.map((l) => l.name),
    },
    imageSize: graph.imageSize,
    parts,
    learning: {
      top,
      data: options.data ?? 'annotated images',
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      createdAt: new Date().toISOString(),
    },
  };
}

function templateNodes(
  graph: ExplanatoryGraph,
  obs: ReturnType<typeof graphObservations>,
  layerOf: readonly { layer: number; node: number }[],
  sigmaPx: Float64Array,
  shots: readonly number[],
  targets: readonly (Point | null)[],
  top: number,
): AogNode[] {
  const k = shots.length;
  const out: (AogNode & { u: number })[] = [];
  for (let u = 0; u < obs.units; u++) {
    let score = 0;
    let fires = true;
    const dy: number[] = [];
    const dx: number[] = [];
    for (const i of shots) {
      const s = obs.score[i * obs.units + u]!;
      if (!(s > 0)) {
        fires = false;
        break;
      }
      const t = targets[i]!;
      const sign = obs.flips?.[i] ? -1 : 1;
      score += s / k;
      dy.push(t[1] - obs.pos[(i * obs.units + u) * 2]!);
      dx.push(sign * (t[0] - obs.pos[(i * obs.units + u) * 2 + 1]!));
    }
    if (!fires) continue;
    const my = dy.reduce((a, b) => a + b, 0) / k;
    const mx = dx.reduce((a, b) => a + b, 0) / k;
    const squares = dy.reduce((a, v, j) => a + (v - my) ** 2 + (dx[j]! - mx) ** 2, 0);
    // The graph's σ counts as one more observation of the spread: one shot gives no spread of its own.
    const variance = (squares + sigmaPx[u]! ** 2) / (k + 1);
    const floor = obs.floor[u]!;
    const { layer, node } = layerOf[u]!;
    const perFilter = graph.layers[layer]!.state.params.nodesPerFilter;
    out.push({
      u,
      layer,
      node,
      unit: { layer: graph.layers[layer]!.name, filter: Math.floor(node / perFilter) },
      dy: my,
      dx: mx,
      spread: Math.sqrt(variance),
      weight: score / (variance + floor * floor),
    });
  }
  out.sort((a, b) => b.weight - a.weight || a.u - b.u);
  return out.slice(0, top).map(({ u: _, ...n }) => n);
}

function assertInferenceFits(graph: ExplanatoryGraph, inference: GraphInference): void {
  const nodes = inference.layers.map((l) => l.nodes);
  const expected = graph.layers.map((l) => l.state.filters * l.state.params.nodesPerFilter);
  if (nodes.join() !== expected.join())
    throw invalid(`the inference has ${nodes.join('/')} nodes per layer; the graph ${expected.join('/')}`);
}

/**
 * Checks that an AOG was learned on this graph (the graph's bytes, hence its nodes, are the same)
 * and that every node's unit is the node's filter in it (⌊node / nodes per filter⌋ of the layer):
 * a file that says otherwise is E_ARTIFACT_CORRUPT.
 */
export function assertAogFits(aog: AndOrGraph, graph: ExplanatoryGraph): void {
  const digest = graphDigest(graph);
  if (digest !== aog.graph.digest)
    throw new TransplantError(
      'E_AOG_MISMATCH',
      `this AOG was learned on graph ${aog.graph.digest.slice(0, 19)}… of ${aog.subject.module}; the graph given is ${digest.slice(0, 19)}… of ${graph.subject.module}`,
      { operation: 'aog' },
    );
  for (const p of aog.parts)
    for (const t of p.templates)
      for (const n of t.nodes) {
        const layer = graph.layers[n.layer];
        const filter = layer ? Math.floor(n.node / layer.state.params.nodesPerFilter) : undefined;
        if (!layer || n.unit.layer !== layer.name || n.unit.filter !== filter)
          throw new TransplantError(
            'E_ARTIFACT_CORRUPT',
            `And-Or graph: part ${p.part} names node ${n.node} of graph layer ${n.layer} with unit ${n.unit.layer} filter ${n.unit.filter}; in the graph it is ${layer?.name ?? 'no layer'} filter ${filter ?? '–'}; learn the AOG again with \`transplant aog learn\``,
            { operation: 'aog' },
          );
      }
}

/** One node's vote in a parse. */
export interface AogVote {
  readonly layer: number;
  readonly node: number;
  /** The node's inferred position [x, y] in the image. */
  readonly position: Point;
  /** Where it puts the part: position + displacement (mirrored in a mirrored image). */
  readonly vote: Point;
  /** weight × the node's score in the image (0: it did not fire, no vote). */
  readonly evidence: number;
}

/** The parse of one part: the OR choice (if any) and the AND of its nodes' votes. */
export interface PartParse {
  readonly part: string;
  /** [x, y] pixels. */
  readonly point: Point;
  /**
   * The chosen template (its view), or null where the OR made no choice: the templates tie (one is
   * a copy of the other, or their scores are equal), and the point and votes are template 0's.
   */
  readonly template: 0 | 1 | null;
  readonly source: AogTemplate['source'] | null;
  /** Why there was no OR choice (null where there was one). */
  readonly tie: 'copy' | 'equal scores' | null;
  /** The score of the template whose votes stand, and every template's (by view). */
  readonly score: number;
  readonly scores: readonly number[];
  /** The votes of the template that gives the point. */
  readonly votes: readonly AogVote[];
}

export interface AogParse {
  /** The image's index in the inference, and the view the graph read it in. */
  readonly index: number;
  readonly flip: number;
  readonly parts: readonly PartParse[];
}

/**
 * A template on image i: score Σ w·s / Σ w over its nodes, and the part at the evidence-weighted
 * mean vote. The displacements are in the graph's aligned frame and turned by the image's own
 * view (not the template's `view`): every template applies in the same frame.
 */
function applyTemplate(
  t: AogTemplate,
  inference: GraphInference,
  i: number,
): { score: number; point: Point; votes: AogVote[] } {
  const sign = inference.flips[i] ? -1 : 1;
  let sw = 0;
  let total = 0;
  let x = 0;
  let y = 0;
  const votes = t.nodes.map((n): AogVote => {
    const l = inference.layers[n.layer]!;
    const py = l.pos[(i * l.nodes + n.node) * 2]!;
    const px = l.pos[(i * l.nodes + n.node) * 2 + 1]!;
    const s = l.peak[i * l.nodes + n.node]!;
    const evidence = s > 0 ? n.weight * s : 0;
    const vote: Point = [px + sign * n.dx, py + n.dy];
    sw += n.weight;
    total += evidence;
    x += evidence * vote[0];
    y += evidence * vote[1];
    return { layer: n.layer, node: n.node, position: [px, py], vote, evidence };
  });
  // No node fires: the heaviest node's vote stands alone.
  const point: Point = total > 0 ? [x / total, y / total] : (votes[0]?.vote ?? [NaN, NaN]);
  return { score: sw > 0 ? total / sw : 0, point, votes };
}

/**
 * The best parse of image `i` of an inference (docs/methods.md §3.8): per part, every template
 * scored by its nodes' weighted evidence; the OR node takes the best-scoring template, and makes
 * no choice (`template: null`) where one template is a copy of the other or the scores are equal
 * (then template 0's votes stand); the nodes vote for the part's position, each vote weighted by
 * its evidence.
 */
export function localizeWithAog(aog: AndOrGraph, inference: GraphInference, i: number): AogParse {
  const nodes = inference.layers.map((l) => l.nodes);
  if (nodes.join() !== aog.graph.nodes.join())
    throw new TransplantError(
      'E_AOG_MISMATCH',
      `the AOG was learned on a graph with ${aog.graph.nodes.join('/')} nodes per layer; this inference has ${nodes.join('/')}`,
      { operation: 'aog' },
    );
  if (!Number.isInteger(i) || i < 0 || i >= inference.n)
    throw invalid(`image ${i} is not one of the ${inference.n} inferred images`);
  return {
    index: i,
    flip: inference.flips[i] ?? 0,
    parts: aog.parts.map((p) => {
      const applied = p.templates.map((t) => applyTemplate(t, inference, i));
      let best = 0;
      applied.forEach((a, t) => {
        if (a.score > applied[best]!.score) best = t;
      });
      const tie: PartParse['tie'] = p.templates.some((t) => t.source === 'mirror')
        ? 'copy'
        : applied.every((a) => a.score === applied[best]!.score)
          ? 'equal scores'
          : null;
      if (tie) best = 0;
      const chosen = applied[best]!;
      const template = p.templates[best]!;
      return {
        part: p.part,
        point: chosen.point,
        template: tie ? null : template.view,
        source: tie ? null : template.source,
        tie,
        score: chosen.score,
        scores: applied.map((a) => a.score),
        votes: chosen.votes,
      };
    }),
  };
}

/** Nodes and units in the AOG: per part, per template. */
export function aogSize(aog: AndOrGraph): { parts: number; templates: number; nodes: number; units: number } {
  const templates = aog.parts.flatMap((p) => p.templates);
  const nodes = new Set(templates.flatMap((t) => t.nodes.map((n) => `${n.layer}:${n.node}`)));
  const units = new Set(templates.flatMap((t) => t.nodes.map((n) => `${n.unit.layer}:${n.unit.filter}`)));
  return { parts: aog.parts.length, templates: templates.length, nodes: nodes.size, units: units.size };
}
