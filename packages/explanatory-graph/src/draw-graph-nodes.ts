import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import { inferGraph, type ExplanatoryGraph, type Link } from './graph';
import { imagesOf, type ImageSource } from './graph-images';
import { renderNodePatches, type NodeRef } from './pictures';

export interface DrawGraphNodesOptions {
  readonly graph: ExplanatoryGraph;
  readonly network: Network;
  readonly link: Link;
  readonly category: CategoryId;
  /** The images searched for the patches where each node fires most. */
  readonly images: ImageSource;
  readonly nodes: readonly NodeRef[];
  /** Patches per node. */
  readonly columns: number;
  /** Where the PNG goes. */
  readonly file: string;
}

/** A PNG of the image patches where the given nodes fire most, one row per node; returns its path. */
export async function drawGraphNodes(options: DrawGraphNodesOptions): Promise<string> {
  const { graph, network, link, nodes } = options;
  const images = imagesOf(options.images, options.category, graph.imageSize);
  const inference = inferGraph(graph, { network, link, images });
  const perFilter = (l: number) => graph.layers[l]!.state.params.nodesPerFilter;
  const png = resolve(options.file);
  await writeFile(
    png,
    renderNodePatches({ inference, images }, nodes, {
      images: options.columns,
      patchFor: (r) => Math.max(12, 3 * graph.layers[r.layer]!.state.geometry.scale),
      captions: nodes.map(
        (r) =>
          `${graph.layers[r.layer]!.name} · filter ${Math.floor(r.node / perFilter(r.layer))} · node ${r.node}`,
      ),
    }),
  );
  return png;
}
