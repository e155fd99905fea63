import { TransplantError } from '@transplant/core';
import type { CategoryId } from '@transplant/data';
import {
  renderVisualization,
  visualizeNetworkUnits,
  type VisualizationResult,
  type VisualizeOptions,
  type VisualUnit,
} from '@transplant/interpretable';
import { assertGraphFits, type ExplanatoryGraph, type LinkedNetwork } from './graph';
import type { NodeRef } from './pictures';

/**
 * What a node maximizes (docs/visualize.md): its filter (node v of a layer belongs to filter
 * ⌊v / K⌋), at the node's mean inferred position over the mining images, as a cell of the map.
 */
export function nodeUnit(graph: ExplanatoryGraph, ref: NodeRef): { layer: string; unit: VisualUnit } {
  const layer = graph.layers[ref.layer];
  if (!layer)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `the graph has no layer ${ref.layer}; its layers are 0…${graph.layers.length - 1} (top first)`,
      { operation: 'visualize' },
    );
  const s = layer.state;
  const k = s.params.nodesPerFilter;
  const nodes = s.filters * k;
  if (!Number.isInteger(ref.node) || ref.node < 0 || ref.node >= nodes)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `layer ${ref.layer} of the graph has nodes 0…${nodes - 1}; name one of them`,
      { operation: 'visualize' },
    );
  const { scale, offset, h, w } = s.geometry;
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi - 1);
  const [y, x] = [s.meanPos[ref.node * 2]!, s.meanPos[ref.node * 2 + 1]!];
  return {
    layer: layer.name,
    unit: {
      label: `node ${ref.layer}:${ref.node}`,
      channels: [Math.floor(ref.node / k)],
      cell: [clamp((y - offset) / scale, h), clamp((x - offset) / scale, w)],
    },
  };
}

export interface VisualizeGraphNodesOptions extends LinkedNetwork, Omit<VisualizeOptions, 'size' | 'colour'> {
  readonly graph: ExplanatoryGraph;
  readonly nodes: readonly NodeRef[];
  /** The colour correlations come from this category's object crops. */
  readonly category?: CategoryId;
}

/**
 * Visualizes graph nodes: the nodes of each graph layer in one batched optimization on that
 * layer; the units come back in the order given, the times summed.
 */
export function visualizeGraphNodes(
  options: VisualizeGraphNodesOptions,
): VisualizationResult & { readonly layers: string[] } {
  const { graph, nodes, network, link, ...settings } = options;
  // A graph mined from another module (or version) would map its nodes onto the wrong filters.
  assertGraphFits(graph, network, link);
  const side = network.module(link.category).ports.input.shape[1];
  if (side !== graph.imageSize)
    throw new TransplantError(
      'E_GRAPH_MISMATCH',
      `this graph was mined on ${graph.imageSize}-pixel images; the link's category module takes ${side}: mine a graph of this network`,
      { operation: 'visualize' },
    );
  const units = nodes.map((ref) => nodeUnit(graph, ref));
  const layers = [...new Set(units.map((u) => u.layer))];
  const byLayer = layers.map((layer) =>
    visualizeNetworkUnits({
      ...settings,
      network,
      link,
      layer,
      units: units.filter((u) => u.layer === layer).map((u) => u.unit),
    }),
  );
  const results = units.map((u) => {
    const l = layers.indexOf(u.layer);
    return byLayer[l]!.units.find((r) => r.unit === u.unit)!;
  });
  const ms = byLayer.reduce((s, r) => s + r.ms, 0);
  return {
    size: byLayer[0]!.size,
    steps: byLayer[0]!.steps,
    batch: byLayer[0]!.batch,
    units: results,
    ms,
    msPerUnit: ms / units.length,
    layers: byLayer.map((r) => r.layer),
  };
}

/** The key of a node's picture in the browser's `visualizations`: `LAYER:NODE`. */
export const nodeKey = (ref: NodeRef): string => `${ref.layer}:${ref.node}`;

/** PNGs of the nodes' optimized images, by `nodeKey`, for the HTML browser. */
export function nodeVisualizations(options: VisualizeGraphNodesOptions): Map<string, Buffer> {
  const result = visualizeGraphNodes(options);
  return new Map(
    options.nodes.map((ref, i) => [
      nodeKey(ref),
      renderVisualization(result.units[i]!, result.size, Math.max(1, Math.round(64 / result.size))),
    ]),
  );
}
