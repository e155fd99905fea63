import { describe, expect, it } from 'vitest';
import { GRAPH_FORMAT, type ExplanatoryGraph } from './graph';
import { initLayer, layerParams } from './em';
import { nodeUnit } from './visualize-nodes';

/** A one-layer graph of 3 filters on an 8×8 map (one cell = 4 px, centres at 4·cell + 2), node mean positions set by hand. */
function graphWith(meanPos: (v: number) => [number, number]): ExplanatoryGraph {
  const params = layerParams(8, 0.05, { top: true });
  const state = initLayer({
    params,
    geometry: { scale: 4, offset: 2, h: 8, w: 8 },
    filters: 3,
    random: () => 0.5,
  });
  for (let v = 0; v < 3 * params.nodesPerFilter; v++)
    [state.meanPos[v * 2], state.meanPos[v * 2 + 1]] = meanPos(v);
  return {
    format: GRAPH_FORMAT,
    subject: { network: 'n', link: { category: 'c', task: 't' }, module: 'c' },
    imageSize: 32,
    views: { rule: 'original' },
    layers: [{ name: 'c:conv', state, normaliser: new Float32Array(0) }],
    mining: { images: 0, negatives: 0, data: '', seed: '', layerMs: [], featureMs: 0, createdAt: '' },
  };
}

describe('nodeUnit', () => {
  it('maximizes the node’s filter at its mean position, in cells', () => {
    // 8·8·0.05 → 4 nodes per filter: node 9 is filter 2's second node.
    const graph = graphWith((v) => (v === 9 ? [14, 22] : [0, 0]));
    expect(graph.layers[0]!.state.params.nodesPerFilter).toBe(4);
    expect(nodeUnit(graph, { layer: 0, node: 9 })).toEqual({
      layer: 'c:conv',
      unit: { label: 'node 0:9', channels: [2], cell: [3, 5] },
    });
    // A mean position outside the map is clamped to its edge cells.
    expect(
      nodeUnit(
        graphWith(() => [-10, 99]),
        { layer: 0, node: 0 },
      ).unit.cell,
    ).toEqual([0, 7]);
  });

  it('refuses a layer or node the graph does not have', () => {
    const graph = graphWith(() => [0, 0]);
    expect(() => nodeUnit(graph, { layer: 1, node: 0 })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringMatching(/layers are 0…0/),
      }),
    );
    expect(() => nodeUnit(graph, { layer: 0, node: 12 })).toThrow(/nodes 0…11/);
  });
});
