import type { Command } from 'commander';
import type { ExplanatoryGraph, NodeRef } from '@transplant/explanatory-graph';
import { GRAPH_IMAGE_SEEDS } from '@transplant/explanatory-graph/options';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integers, usage } from './parse-options';

/** The flags as commander hands them over (every value a string). */
type NodesFlags = Record<'net' | 'nodes' | 'png' | 'images' | 'columns', string> &
  Partial<Record<'graph' | 'category', string>>;

/**
 * `--nodes 0:12,1:40` → node references of the graph, which has `perLayer` nodes in each layer;
 * E_USAGE for a pair that names no node.
 */
export function parseNodes(text: string, graph: ExplanatoryGraph, perLayer: readonly number[]): NodeRef[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [layer, node] = pair.split(':').map(Number);
      const nodes = perLayer[layer ?? -1];
      const named = Number.isInteger(layer) && Number.isInteger(node) && nodes !== undefined;
      if (!named || node! < 0 || node! >= nodes!)
        throw usage(
          `"${pair}" is not a node: use LAYER:NODE with layer 0…${graph.layers.length - 1} and node 0…(nodes − 1) (${perLayer.join(', ')} nodes per layer)`,
          'graph',
        );
      return { layer: layer!, node: node! };
    });
}

/** `transplant graph nodes`: patches where given nodes fire most. */
export function graphNodesCommand(graph: Command, ctx: CommandContext): void {
  graph
    .command('nodes')
    .description('PNG of image patches where given nodes fire most (held-out object crops), one row per node')
    .requiredOption('--net <ref>', 'the network the graph was mined from')
    .requiredOption(
      '--nodes <list>',
      'LAYER:NODE pairs, comma-separated (layer 0 is the top graph layer), e.g. 0:12,1:40',
    )
    .requiredOption('--png <file>', 'where the picture goes')
    .option(
      '--graph <file>',
      'the graph file (default: the graph attached to the category module in the registry)',
    )
    .option('--images <n>', 'held-out images to search', '100')
    .option('--columns <n>', 'patches per node', '8')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .action(async (flags: NodesFlags) => {
      const { images, columns } = integers(flags, { images: 1, columns: 1 }, 'graph');
      const { drawGraphNodes, graphSize, loadGraphFor } = await import('@transplant/explanatory-graph');
      await withNetwork(ctx, flags.net, async ({ network, link, registry }) => {
        const loaded = await loadGraphFor({
          network,
          link,
          registry,
          ...(flags.graph ? { file: flags.graph } : {}),
        });
        const nodes = parseNodes(flags.nodes, loaded, graphSize(loaded).perLayer);
        const png = await drawGraphNodes({
          graph: loaded,
          network,
          link,
          category: categoryOf(network, link, flags.category, 'graph'),
          images: { count: images, seed: GRAPH_IMAGE_SEEDS.test },
          nodes,
          columns,
          file: flags.png,
        });
        ctx.out({ png, nodes }, `patches of ${nodes.length} node(s): ${png}`);
      });
    });
}
