import type { Command } from 'commander';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integer } from './parse-options';

export type { MetricsReport } from '@transplant/interpretable';

interface MetricsFlags {
  net: string;
  layer: string;
  category?: string;
  images: string;
  crop?: boolean;
  png?: string;
  linkCategory?: string;
  linkTask?: string;
}

/** `transplant interpret metrics`: interpretability numbers for one conv layer of a network in the registry. */
export function interpretCommands(parent: Command, ctx: CommandContext): void {
  const interpret = parent
    .command('interpret')
    .description('interpretability of conv layers: location instability, part interpretability, heat maps');
  interpret
    .command('metrics')
    .description(
      'location instability and part interpretability of one conv layer of a network, on part-annotated synthetic images of its category',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. cat-cls')
    .requiredOption(
      '--layer <name>',
      'a layer with a feature map, module-local (block4_conv1) or MODULE:LAYER; an unknown name lists them',
    )
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--images <n>', 'evaluation images', '100')
    .option('--crop', 'object crops (the papers’ view) instead of whole scenes')
    .option('--png <file>', 'also write a PNG of the top filters’ heat maps')
    .option('--link-category <module>', 'category module of the link (generic networks)')
    .option('--link-task <module>', 'task module of the link (generic networks)')
    .action(async (flags: MetricsFlags) => {
      const images = integer(flags.images, 'images', 4, 'interpret');
      const choose = {
        ...(flags.linkCategory ? { category: flags.linkCategory } : {}),
        ...(flags.linkTask ? { task: flags.linkTask } : {}),
      };
      const { formatLayerMetrics, interpretNetworkLayer } = await import('@transplant/interpretable');
      await withNetwork(
        ctx,
        flags.net,
        async ({ network, manifest, link }) => {
          const report = await interpretNetworkLayer({
            network,
            link,
            reference: `${manifest.name}@${manifest.version}`,
            layer: flags.layer,
            category: categoryOf(network, link, flags.category, 'interpret'),
            images,
            crop: flags.crop === true,
            ...(flags.png ? { png: flags.png } : {}),
          });
          ctx.out(report, formatLayerMetrics(report));
        },
        choose,
      );
    });
}
