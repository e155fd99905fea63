import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import { renderFilterHeatmaps } from './heatmaps';
import { interpretLayer, partImages, partNameOf, type LayerInterpretation } from './interpret';

export interface InterpretNetworkLayerOptions {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  /** The network's registry reference, for the report (`cat-cls@1.0.0`). */
  readonly reference: string;
  /** A layer with a feature map, module-local (`block4_conv1`) or `MODULE:LAYER`. */
  readonly layer: string;
  readonly category: CategoryId;
  /** Part-annotated evaluation images (seed `interpret`). */
  readonly images: number;
  /** Object crops (the papers' view) instead of whole scenes. */
  readonly crop: boolean;
  /** Also write a PNG of the top filters' heat maps here. */
  readonly png?: string;
}

/** Interpretability numbers of one layer, as the `interpret metrics` command reports them. */
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
  r: LayerInterpretation,
  options: {
    readonly network: string;
    readonly link: string;
    readonly category: CategoryId;
    readonly png: string | undefined;
  },
): MetricsReport {
  const { network, link, category, png } = options;
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

/** The report as lines of text. */
export function formatLayerMetrics(m: MetricsReport): string {
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

/**
 * The `interpret metrics` workflow (docs/methods.md §2): location instability and part
 * interpretability of one conv layer of a network, on part-annotated synthetic images of its
 * category, with the top filters' heat maps when asked.
 */
export async function interpretNetworkLayer(options: InterpretNetworkLayerOptions): Promise<MetricsReport> {
  const { network, link, category } = options;
  const size = network.module(link.category).ports.input.shape[1]!;
  const images = partImages(category, { count: options.images, size, crop: options.crop });
  const result = interpretLayer({ network, link }, { layer: options.layer, images });
  let png: string | undefined;
  if (options.png) {
    png = resolve(options.png);
    await writeFile(
      png,
      renderFilterHeatmaps(result, images, {
        title: `${options.reference} · ${result.layer} · ${category} images`,
      }),
    );
  }
  return summarise(result, {
    network: options.reference,
    link: `${link.category} → ${link.task}`,
    category,
    png,
  });
}
