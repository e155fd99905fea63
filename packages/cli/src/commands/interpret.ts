import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CategoryId } from '@transplant/data';
import {
  interpretLayer,
  partImages,
  partNameOf,
  renderFilterHeatmaps,
  type LayerInterpretation,
} from '@transplant/interpretable';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './networks';
import { integer } from './transplant';

export interface MetricsReport {
  readonly network: string;
  readonly link: string;
  readonly module: string;
  readonly layer: string;
  readonly category: CategoryId;
  readonly images: number;
  readonly filters: number;
  /** Cell centres in the image: scale·u + offset pixels. */
  readonly geometry: { readonly scale: number; readonly offset: number; readonly mapSize: readonly number[] };
  readonly instability: {
    readonly mean: number;
    readonly active: number;
    readonly meanAll: number;
    readonly silent: number;
  };
  readonly interpretability: { readonly mean: number; readonly filtersPerPart: Record<string, number> };
  readonly perFilter: {
    readonly filter: number;
    readonly instability: number | null;
    readonly part: string;
    readonly score: number;
  }[];
  readonly png?: string;
}

function summarise(
  network: string,
  link: string,
  category: CategoryId,
  r: LayerInterpretation,
  png?: string,
): MetricsReport {
  const filtersPerPart: Record<string, number> = {};
  for (const f of r.interpretability.perFilter)
    if (f.score > 0) filtersPerPart[partNameOf(f.part)] = (filtersPerPart[partNameOf(f.part)] ?? 0) + 1;
  return {
    network,
    link,
    module: r.module,
    layer: r.layer,
    category,
    images: r.images,
    filters: r.filters,
    geometry: { scale: r.geometry.scale, offset: r.geometry.offset, mapSize: [...r.geometry.mapSize] },
    instability: {
      mean: r.instability.mean,
      active: r.instability.active,
      meanAll: r.instability.meanAll,
      silent: r.instability.silent,
    },
    interpretability: { mean: r.interpretability.mean, filtersPerPart },
    perFilter: r.interpretability.perFilter.map((f, i) => ({
      filter: i,
      instability: Number.isNaN(r.instability.perFilter[i]!) ? null : r.instability.perFilter[i]!,
      part: partNameOf(f.part),
      score: f.score,
    })),
    ...(png ? { png } : {}),
  };
}

function formatMetrics(m: MetricsReport): string {
  const parts = Object.entries(m.interpretability.filtersPerPart)
    .sort((a, b) => b[1] - a[1])
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  return [
    `${m.network} (${m.link}) · layer ${m.module}:${m.layer} · ${m.filters} filters on ${m.images} ${m.category} images`,
    `  location instability   ${m.instability.mean.toFixed(4)}  (lower is more stable; over the ${m.instability.active} filters that fire on enough images to rank their top ones; ${m.instability.meanAll.toFixed(4)} over all ${m.filters - m.instability.silent} that fire at all)`,
    `  part interpretability  ${m.interpretability.mean.toFixed(4)}  (filters with a part: ${parts || 'none'})`,
    ...(m.png ? [`  heat maps: ${m.png}`] : []),
  ].join('\n');
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
    .action(
      async (o: {
        net: string;
        layer: string;
        category?: string;
        images: string;
        crop?: boolean;
        png?: string;
        linkCategory?: string;
        linkTask?: string;
      }) => {
        const count = integer(o.images, 'images', 4, 'interpret');
        await withNetwork(
          ctx,
          o.net,
          async ({ network, manifest, link }) => {
            const category = categoryOf(network, link, o.category, 'interpret');
            const size = network.module(link.category).ports.input.shape[1]!;
            const images = partImages(category, { count, size, crop: o.crop === true });
            const result = interpretLayer(network, link, o.layer, images);
            let png: string | undefined;
            if (o.png) {
              png = resolve(o.png);
              await writeFile(
                png,
                renderFilterHeatmaps(result, images, {
                  title: `${manifest.name}@${manifest.version} · ${result.layer} · ${category} images`,
                }),
              );
            }
            const report = summarise(
              `${manifest.name}@${manifest.version}`,
              `${link.category} → ${link.task}`,
              category,
              result,
              png,
            );
            ctx.out(report, formatMetrics(report));
          },
          {
            ...(o.linkCategory ? { category: o.linkCategory } : {}),
            ...(o.linkTask ? { task: o.linkTask } : {}),
          },
        );
      },
    );
}
