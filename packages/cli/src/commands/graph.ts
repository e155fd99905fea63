import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from './command-context';
import { graphLocalizeCommand } from './graph-localize';
import { graphMineCommand } from './graph-mine';
import { graphNodesCommand } from './graph-nodes';

export type { GraphSummary } from '@transplant/explanatory-graph';

/** `transplant graph mine | nodes | inspect | localize`. */
export function graphCommands(parent: Command, ctx: CommandContext): void {
  const graph = parent
    .command('graph')
    .description(
      'explanatory graphs: part patterns mined from a network’s conv layers, and few-shot part localization with them',
    );
  graphMineCommand(graph, ctx);
  graphNodesCommand(graph, ctx);
  graph
    .command('inspect')
    .description('what a graph file holds: the module it explains, its layers and nodes, how it was mined')
    .requiredOption('--graph <file>', 'a graph file written by `transplant graph mine --out`')
    .action(async (options: { graph: string }) => {
      const { formatGraphSummary, loadGraph, summariseGraph } = await import('@transplant/explanatory-graph');
      const file = resolve(options.graph);
      const summary = summariseGraph(await loadGraph(file), { file });
      ctx.out(summary, formatGraphSummary(summary));
    });
  graphLocalizeCommand(graph, ctx);
}
