import { join } from 'node:path';
import type { Command } from 'commander';
import { VISUALIZE_DEFAULTS } from '@transplant/interpretable/options';
import type { Progress } from '../progress';
import { REPORTS_DIR, selectCommandBackend, type CommandContext } from './command-context';
import { parseNodes } from './graph-nodes';
import { categoryOf, withNetwork } from './network-context';
import { integers, nameList, nonNegative, usage } from './parse-options';

import type { VisualizationResult, VisualUnit } from '@transplant/interpretable';

export type { VisualizationSummary } from '@transplant/interpretable';

interface VisualizeFlags {
  net: string;
  layer?: string;
  filter?: string;
  node?: string;
  group?: string;
  graph?: string;
  category?: string;
  out?: string;
  steps: string;
  batch: string;
  lr: string;
  tv: string;
  images: string;
  seed: string;
}

/** `--filter 0,3,8-11` → [0, 3, 8, 9, 10, 11]; E_USAGE for anything else. */
export function parseFilters(text: string): number[] {
  const filters = text.split(',').flatMap((item) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    const [from, to] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
    if (!m || to < from || to - from > 4096)
      throw usage(
        `"${item}" is not a filter: use indices from 0 and ranges, e.g. --filter 0,3,8-11`,
        'visualize',
      );
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
  return [...new Set(filters)];
}

/** `transplant visualize`: activation maximization of filters, graph nodes or part groups. */
export function visualizeCommand(parent: Command, ctx: CommandContext): void {
  const d = VISUALIZE_DEFAULTS;
  parent
    .command('visualize')
    .description(
      'feature visualization: optimize one image per unit (filters of a layer, explanatory-graph nodes, or part groups of a layer’s filters) to excite it most; writes a PNG grid and a Markdown report with the time per unit',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. bird-cls')
    .option(
      '--layer <name>',
      'with --filter or --group: a layer with a feature map, module-local (block2_conv1) or MODULE:LAYER',
    )
    .option('--filter <i,j,…>', 'filters of --layer, comma-separated, ranges allowed: 0,3,8-11')
    .option(
      '--node <list>',
      'explanatory-graph nodes, LAYER:NODE comma-separated (layer 0 is the top graph layer): each maximizes its filter at the node’s mean position',
    )
    .option(
      '--group <names>',
      'part groups of --layer’s filters (head, torso, …, river, background), comma-separated: each maximizes the sum of its filters',
    )
    .option(
      '--graph <file>',
      'with --node: the graph file (default: the one attached to the category module)',
    )
    .option(
      '--category <id>',
      'images of this category (colours; the groups) (default: the category module’s)',
    )
    .option('--out <dir>', 'where the report goes (default reports/visualize-NET-KIND)')
    .option('--steps <n>', 'optimization steps', String(d.steps))
    .option('--batch <n>', 'units optimized at once', String(d.batch))
    .option('--lr <w>', 'Adam’s learning rate', String(d.learningRate))
    .option('--tv <w>', 'weight of the total-variation penalty', String(d.tv))
    .option('--images <n>', 'with --group: annotated images the filters are grouped on', '64')
    .option('--seed <text>', 'seed of the starting images and the random transforms', 'visualize')
    .action(async (flags: VisualizeFlags) => {
      const kinds = (['filter', 'node', 'group'] as const).filter((k) => flags[k] !== undefined);
      if (kinds.length !== 1)
        throw usage('name the units with exactly one of --filter, --node or --group', 'visualize');
      const kind = kinds[0]!;
      if (kind !== 'node' && !flags.layer)
        throw usage(`--${kind} needs --layer: the layer whose filters are visualized`, 'visualize');
      if (kind !== 'node' && flags.graph)
        throw usage('--graph goes with --node: filters and groups need no graph', 'visualize');
      if (kind === 'node' && flags.layer)
        throw usage('--node names its graph layer itself (LAYER:NODE); leave out --layer', 'visualize');
      const counts = integers(flags, { steps: 1, batch: 1, images: 2 }, 'visualize');
      const learningRate = nonNegative(flags.lr, 'lr', 'visualize');
      if (learningRate === 0) throw usage('--lr must be above 0', 'visualize');
      const tv = nonNegative(flags.tv, 'tv', 'visualize');
      const filters = kind === 'filter' ? parseFilters(flags.filter!) : [];
      const groups = kind === 'group' ? nameList(flags.group!, 'group', 'visualize') : [];
      const interpretable = await import('@transplant/interpretable');
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const category = categoryOf(network, link, flags.category, 'visualize');
        const backend = (await selectCommandBackend(ctx)).id;
        let bar: Progress | undefined;
        let done = 0;
        const settings = {
          steps: counts.steps,
          batch: counts.batch,
          learningRate,
          tv,
          seed: flags.seed,
          category,
          onStep: () => {
            bar?.update(++done);
          },
        };
        /** The bar over every batch: `perLayer` the units of each layer, each layer its own batches. */
        const start = (perLayer: readonly number[]) => {
          const total = counts.steps * perLayer.reduce((t, n) => t + Math.ceil(n / counts.batch), 0);
          bar = ctx.progress({ label: `${kind}s: step`, total, every: Math.max(1, Math.round(total / 10)) });
        };
        let result: VisualizationResult;
        let layer: string;
        if (kind === 'node') {
          const graphs = await import('@transplant/explanatory-graph');
          const graph = await graphs.loadGraphFor({
            network,
            link,
            registry,
            ...(flags.graph ? { file: flags.graph } : {}),
          });
          const nodes = parseNodes(flags.node!, graph, graphs.graphSize(graph).perLayer);
          start(
            [...new Set(nodes.map((n) => n.layer))].map((l) => nodes.filter((n) => n.layer === l).length),
          );
          const r = graphs.visualizeGraphNodes({ ...settings, graph, nodes, network, link });
          [result, layer] = [r, r.layers.join(', ')];
        } else {
          let units: VisualUnit[];
          if (kind === 'filter') {
            units = filters.map((f) => ({ label: `filter ${f}`, channels: [f] }));
          } else {
            const { groupFilters, groupUnit } = await import('@transplant/explainer');
            const found = groupFilters({
              network,
              link,
              layer: flags.layer!,
              category,
              images: counts.images,
            });
            units = groups.map((g) => groupUnit(found, g));
          }
          start([units.length]);
          const r = interpretable.visualizeNetworkUnits({
            ...settings,
            network,
            link,
            layer: flags.layer!,
            units,
          });
          [result, layer] = [r, r.layer];
        }
        bar?.done();
        const summary = await interpretable.writeVisualizationReport(
          flags.out ?? join(REPORTS_DIR, `visualize-${manifest.name}-${kind}`),
          result,
          {
            network: `${manifest.name}@${manifest.version}`,
            layer,
            kind,
            backend,
            settings: {
              steps: counts.steps,
              batch: counts.batch,
              'learning rate': learningRate,
              'total variation': tv,
              seed: flags.seed,
              'colours of': category,
              ...(kind === 'group' ? { 'images grouped on': counts.images } : {}),
            },
          },
        );
        ctx.out(summary, interpretable.formatVisualizationSummary(summary));
      });
    });
}
