import type { Command } from 'commander';
import { GRAPH_IMAGE_SEEDS } from '@transplant/explanatory-graph/options';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integer, integers, nameList, usage } from './parse-options';

/** The flags as commander hands them over (every value a string). */
type LocalizeFlags = Record<'net' | 'shots' | 'pool' | 'test' | 'draws' | 'index', string> &
  Partial<Record<'graph' | 'parts' | 'category' | 'png', string>>;

/** `transplant graph localize`: the few-shot localization workflow of @transplant/explanatory-graph. */
export function graphLocalizeCommand(graph: Command, ctx: CommandContext): void {
  graph
    .command('localize')
    .description(
      'few-shot part localization with a network’s graph on held-out object crops, against the raw-filter and pooled-feature baselines (normalized distance, docs/methods.md §1.5)',
    )
    .requiredOption('--net <ref>', 'the network the graph was mined from')
    .option(
      '--graph <file>',
      'the graph file (default: the graph attached to the category module in the registry)',
    )
    .option(
      '--parts <names>',
      'parts to localize, comma-separated (default: every annotated part of the category)',
    )
    .option('--shots <k>', 'annotated images per part (K), comma-separated', '3')
    .option('--pool <n>', 'images the K shots are drawn from', '100')
    .option('--test <n>', 'held-out test images', '100')
    .option('--draws <n>', 'random draws of the K shots', '10')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--png <file>', 'also draw the graph’s K-shot predictions (first K) on a test image')
    .option('--index <i>', 'which test image --png draws', '0')
    .action(async (flags: LocalizeFlags) => {
      const shots = flags.shots.split(',').map((k) => integer(k, 'shots', 1, 'graph'));
      const { pool, test, draws, index } = integers(flags, { pool: 1, test: 1, draws: 1, index: 0 }, 'graph');
      if (index >= test) throw usage(`--index ${index} is past the ${test} test images`, 'graph');
      const parts = flags.parts === undefined ? undefined : nameList(flags.parts, 'parts', 'graph');
      const { formatLocalizationReport, loadGraphFor, localizeParts } =
        await import('@transplant/explanatory-graph');
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const category = categoryOf(network, link, flags.category, 'graph');
        const k = shots[0]!;
        const title = `${manifest.name}: ${k}-shot parts (dot: graph, ring: annotated)`;
        const { results, png } = await localizeParts({
          graph: await loadGraphFor({
            network,
            link,
            registry,
            ...(flags.graph ? { file: flags.graph } : {}),
          }),
          network,
          link,
          category,
          pool: { count: pool, seed: GRAPH_IMAGE_SEEDS.shots },
          test: { count: test, seed: GRAPH_IMAGE_SEEDS.test },
          ...(parts ? { parts } : {}),
          shots,
          draws,
          top: 10,
          seed: 'graph-localize',
          ...(flags.png ? { picture: { file: flags.png, k, index, title } } : {}),
        });
        const report = {
          network: `${manifest.name}@${manifest.version}`,
          category,
          results,
          ...(png ? { png } : {}),
        };
        ctx.out(report, formatLocalizationReport(report, { draws, test }));
      });
    });
}
