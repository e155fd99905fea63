import type { Command } from 'commander';
import { TransplantError } from '@transplant/core';
import {
  GRAPH_IMAGE_SEEDS,
  formatLocalization,
  loadGraphFor,
  localizeParts,
} from '@transplant/explanatory-graph';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integer } from './parse-options';

interface LocalizeFlags {
  net: string;
  graph?: string;
  parts?: string;
  shots: string;
  pool: string;
  test: string;
  draws: string;
  category?: string;
  png?: string;
  index: string;
}

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
      const pool = integer(flags.pool, 'pool', 1, 'graph');
      const test = integer(flags.test, 'test', 1, 'graph');
      const draws = integer(flags.draws, 'draws', 1, 'graph');
      const index = integer(flags.index, 'index', 0, 'graph');
      if (index >= test)
        throw new TransplantError('E_USAGE', `--index ${index} is past the ${test} test images`, {
          operation: 'graph',
        });
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const category = categoryOf(network, link, flags.category, 'graph');
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
          ...(flags.parts ? { parts: flags.parts.split(',').filter(Boolean) } : {}),
          shots,
          draws,
          top: 10,
          seed: 'graph-localize',
          ...(flags.png
            ? {
                picture: {
                  file: flags.png,
                  k: shots[0]!,
                  index,
                  title: `${manifest.name}: ${shots[0]!}-shot parts (dot: graph, ring: annotated)`,
                },
              }
            : {}),
        });
        const report = {
          network: `${manifest.name}@${manifest.version}`,
          category,
          results,
          ...(png ? { png } : {}),
        };
        const text = [
          `${report.network} · ${category} · normalized distance (lower is better), ${draws} draws, ${test} test crops`,
          ...formatLocalization(results),
          ...(png ? [`  picture ${png}`] : []),
        ].join('\n');
        ctx.out(report, text);
      });
    });
}
