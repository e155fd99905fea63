import { TransplantError } from '@transplant/core';
import type { KerasLayerConfig, LayersModelGraph } from './keras-topology';

/** One side of the cut: a graph from `input` (a tensor name) to `output` (a layer). */
export interface GraphPart {
  readonly input: string;
  readonly output: string;
  readonly layers: readonly KerasLayerConfig[];
}

export interface SplitGraph {
  /** The split layer and all its ancestors: the category module. */
  readonly lower: GraphPart;
  /** Every other layer, fed by the split layer's output alone: the task module. */
  readonly upper: GraphPart;
}

export function inboundNames(layer: KerasLayerConfig): string[] {
  return layer.inbound_nodes.flatMap((node) => node.map((entry) => entry[0]));
}

function ancestors(byName: ReadonlyMap<string, KerasLayerConfig>, target: string): Set<string> {
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length > 0) {
    const name = stack.pop()!;
    const layer = byName.get(name);
    if (!layer || seen.has(name)) continue;
    seen.add(name);
    stack.push(...inboundNames(layer));
  }
  return seen;
}

/** The tensors (producer layer names, the input included) that upper layers take from the lower side. */
function crossingTensors(graph: LayersModelGraph, lower: ReadonlySet<string>): string[] {
  const crossing = new Set<string>();
  for (const layer of graph.layers) {
    if (lower.has(layer.name)) continue;
    for (const name of inboundNames(layer))
      if (lower.has(name) || name === graph.input.name) crossing.add(name);
  }
  const order = [graph.input.name, ...graph.layers.map((l) => l.name)];
  return [...crossing].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** The layers the model can be split at: each one's output is the only tensor crossing its cut. */
export function splitPoints(graph: LayersModelGraph): string[] {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  return graph.layers
    .filter((l) => l.name !== graph.output)
    .filter((l) => {
      const crossing = crossingTensors(graph, ancestors(byName, l.name));
      return crossing.length === 1 && crossing[0] === l.name;
    })
    .map((l) => l.name);
}

/**
 * Cuts the graph after `split`: lower = the split layer and its ancestors, upper = the rest.
 * Refused (E_IMPORT_SPLIT, naming the crossing tensors and the layers that would work) when any
 * other tensor crosses the cut — a split inside a residual block, where the skip connection
 * crosses too — or when either side would be empty.
 */
export function splitLayersModel(graph: LayersModelGraph, split: string): SplitGraph {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const refuse = (detail: string, details: Record<string, unknown>) =>
    new TransplantError(
      'E_IMPORT_SPLIT',
      `${graph.name} at "${split}": ${detail}; layers it can be split at: ${splitPoints(graph).join(', ') || 'none'}`,
      {
        module: graph.name,
        operation: 'split',
        details,
      },
    );
  if (!byName.has(split)) {
    const detail =
      split === graph.input.name
        ? 'that is the input layer, so the category module would be empty'
        : `no such layer (layers: ${[...byName.keys()].join(', ')})`;
    throw refuse(detail, { layers: [...byName.keys()] });
  }
  if (split === graph.output)
    throw refuse('that is the output layer, so the task module would be empty', {
      layers: [...byName.keys()],
    });
  const lower = ancestors(byName, split);
  const crossing = crossingTensors(graph, lower);
  if (crossing.length !== 1 || crossing[0] !== split) {
    throw refuse(
      `tensors crossing the cut: ${crossing.join(', ')} (only the output of "${split}" may cross)`,
      { crossing },
    );
  }
  return {
    lower: { input: graph.input.name, output: split, layers: graph.layers.filter((l) => lower.has(l.name)) },
    upper: { input: split, output: graph.output, layers: graph.layers.filter((l) => !lower.has(l.name)) },
  };
}
