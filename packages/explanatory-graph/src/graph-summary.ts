import { graphSize, type ExplanatoryGraph } from './graph';
import type { GraphViewRule } from './options';

/** What a graph holds: the module it explains, its layers and nodes, how it was mined, where it went. */
export interface GraphSummary {
  readonly subject: ExplanatoryGraph['subject'];
  readonly layers: {
    name: string;
    filters: number;
    nodesPerFilter: number;
    nodes: number;
    map: string;
    iterations: number;
  }[];
  readonly nodes: number;
  readonly views: GraphViewRule;
  readonly mining: { images: number; negatives: number; data: string; seconds: number };
  readonly digest?: string;
  readonly file?: string;
  readonly attached?: string;
  readonly html?: string;
}

/** The summary of a graph, with where it was written (`extra`). */
export function summariseGraph(graph: ExplanatoryGraph, extra: Partial<GraphSummary> = {}): GraphSummary {
  const size = graphSize(graph);
  return {
    subject: graph.subject,
    layers: graph.layers.map((l, i) => ({
      name: l.name,
      filters: l.state.filters,
      nodesPerFilter: l.state.params.nodesPerFilter,
      nodes: size.perLayer[i]!,
      map: `${l.state.geometry.h}×${l.state.geometry.w}`,
      iterations: l.state.params.iterations,
    })),
    nodes: size.total,
    views: graph.views.rule,
    mining: {
      images: graph.mining.images,
      negatives: graph.mining.negatives,
      data: graph.mining.data,
      seconds: (graph.mining.featureMs + graph.mining.layerMs.reduce((s, v) => s + v, 0)) / 1000,
    },
    ...extra,
  };
}

/** The summary as lines of text. */
export function formatGraphSummary(s: GraphSummary): string {
  return [
    `explanatory graph of ${s.subject.module}${s.subject.version ? `@${s.subject.version}` : ''} (${s.subject.network}): ${s.nodes} nodes, views ${s.views}`,
    ...s.layers.map(
      (l) =>
        `  ${l.name}  map ${l.map}, ${l.filters} filters × ${l.nodesPerFilter} nodes = ${l.nodes}, ${l.iterations} EM iterations`,
    ),
    `  mined from ${s.mining.images} images (+${s.mining.negatives} negatives) in ${s.mining.seconds.toFixed(1)} s: ${s.mining.data}`,
    ...(s.file ? [`  file ${s.file}${s.digest ? ` (${s.digest})` : ''}`] : []),
    ...(s.attached ? [`  attached to ${s.attached} in the registry`] : []),
    ...(s.html ? [`  browser ${s.html}`] : []),
  ].join('\n');
}
