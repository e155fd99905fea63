import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import type { CategoryId } from '@transplant/data';
import {
  cellGeometry,
  findLayer,
  imagesTensor,
  layerActivations,
  partImages,
} from '@transplant/interpretable';
import { assignGroups, type FilterGroup } from './explain';

export interface GroupFiltersOptions {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  /** The layer (module-local or MODULE:LAYER) whose filters are grouped. */
  readonly layer: string;
  readonly category: CategoryId;
  /** Annotated object crops the groups are read on (default 64). */
  readonly images?: number;
  /** Each filter's strongest images that vote for its group (default 20, as `explain`). */
  readonly topN?: number;
  readonly seed?: string;
}

/**
 * The part groups of a layer's filters (docs/visualize.md): each filter's group by the
 * explainer's rule (`assignGroups`: what its peak cell covers in most of its strongest
 * annotated images: a part, the river, other background, or silent), here on the network's
 * own layer. Returns the filters of each group found, by group.
 */
export function groupFilters(options: GroupFiltersOptions): Map<FilterGroup, number[]> {
  const { network, link, category } = options;
  const ref = findLayer(network, link, options.layer);
  const geometry = cellGeometry(ref);
  const images = partImages(category, {
    count: options.images ?? 64,
    size: geometry.imageSize[0],
    crop: true,
    seed: options.seed ?? 'visualize-groups',
  });
  const maps: Float32Array[] = [];
  let shape: readonly number[] = [];
  for (let from = 0; from < images.samples.length; from += 32) {
    const batch = imagesTensor(images, from, Math.min(from + 32, images.samples.length));
    const m = layerActivations(ref, batch);
    shape = m.shape;
    maps.push(m.dataSync() as Float32Array);
    tf.dispose([batch, m]);
  }
  const assigned = assignGroups(maps, {
    shape: [shape[1]!, shape[2]!, shape[3]!],
    samples: images.samples,
    geometry,
    topN: options.topN ?? 20,
  });
  const groups = new Map<FilterGroup, number[]>();
  assigned.forEach((a, f) => groups.set(a.group, [...(groups.get(a.group) ?? []), f]));
  return groups;
}

/** The filters of one part group of a layer; E_INVALID_ARGUMENT naming the groups found when it has none. */
export function groupUnit(
  groups: ReadonlyMap<FilterGroup, readonly number[]>,
  group: string,
): { label: string; channels: number[] } {
  const filters = groups.get(group as FilterGroup);
  if (!filters?.length)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `no filter of the layer falls in the group "${group}"; groups found: ${
        [...groups.entries()].map(([g, f]) => `${g} (${f.length})`).join(', ') || 'none'
      }; name one of them or choose another --layer`,
      { operation: 'visualize' },
    );
  return { label: `group ${group}`, channels: [...filters] };
}
