import type { Command } from 'commander';
import { GRAPH_VIEW_RULES } from '@transplant/explanatory-graph/options';
import type { Progress } from '../progress';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integer, integers, nameList, oneOf, usage } from './parse-options';

interface MineFlags {
  net: string;
  out?: string;
  attach?: boolean;
  replace?: boolean;
  images: string;
  negatives: string;
  iterations: string;
  layers?: string;
  views: string;
  category?: string;
  html?: string;
  seed: string;
  visualizeSteps: string;
}

/** `transplant graph mine`: the mining workflow of @transplant/explanatory-graph. */
export function graphMineCommand(graph: Command, ctx: CommandContext): void {
  graph
    .command('mine')
    .description(
      'mine an explanatory graph from a network’s category module, on object crops of its category (no part labels); write it to a file and/or attach it to the module in the registry',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. bird-cls')
    .option('--out <file>', 'write the graph here')
    .option('--attach', 'attach the graph to the category module’s version in the registry')
    .option('--replace', 'with --attach: replace a graph attached before')
    .option('--images <n>', 'mining images (object crops)', '200')
    .option('--negatives <n>', 'background scenes for the activation normaliser', '100')
    .option('--iterations <n>', 'EM iterations per layer', '20')
    .option(
      '--layers <names>',
      'conv layers, top first, comma-separated (default: the category module’s top two)',
    )
    .option('--views <rule>', `how each image is mirrored or not: ${GRAPH_VIEW_RULES.join(', ')}`, 'align')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--html <dir>', 'also write the HTML browser here')
    .option('--seed <text>', 'seed of the node initialisation', 'explanatory-graph')
    .option(
      '--visualize-steps <n>',
      'with --html: also show each shown node’s optimized image (transplant visualize), after this many steps; 0: none',
      '0',
    )
    .action(async (flags: MineFlags) => {
      if (!flags.out && !flags.attach)
        throw usage('say where the graph goes: --out FILE and/or --attach', 'graph');
      const views = oneOf(flags.views, 'views', GRAPH_VIEW_RULES, 'graph');
      const counts = integers(flags, { images: 2, negatives: 2, iterations: 1 }, 'graph');
      const visualizeSteps = integer(flags.visualizeSteps, 'visualize-steps', 0, 'graph');
      if (visualizeSteps > 0 && !flags.html)
        throw usage('--visualize-steps shows optimized images in the HTML browser: add --html DIR', 'graph');
      const layers = flags.layers === undefined ? undefined : nameList(flags.layers, 'layers', 'graph');
      const { formatGraphSummary, mineCategoryGraph, summariseGraph } =
        await import('@transplant/explanatory-graph');
      let shown: { layer: string; bar: Progress } | undefined;
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const {
          graph: mined,
          images: _,
          ...written
        } = await mineCategoryGraph({
          network,
          link,
          category: categoryOf(network, link, flags.category, 'graph'),
          reference: `${manifest.name}@${manifest.version}`,
          ...counts,
          views,
          seed: flags.seed,
          ...(layers ? { layers } : {}),
          ...(flags.out ? { out: flags.out } : {}),
          ...(flags.attach ? { attach: { registry, replace: flags.replace === true } } : {}),
          ...(flags.html ? { html: flags.html } : {}),
          ...(visualizeSteps > 0 ? { visualize: { steps: visualizeSteps } } : {}),
          onProgress: (p) => {
            if (shown?.layer !== p.layer) {
              shown?.bar.done();
              shown = {
                layer: p.layer,
                bar: ctx.progress({ label: `${p.layer}: EM`, total: p.iterations, every: 1 }),
              };
            }
            shown.bar.update(p.iteration);
            if (p.iteration === p.iterations) shown.bar.done();
          },
        });
        const summary = summariseGraph(mined, written);
        ctx.out(summary, formatGraphSummary(summary));
      });
    });
}
