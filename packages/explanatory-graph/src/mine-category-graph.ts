import { resolve } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import { backgroundImages, partImages, type PartImages } from '@transplant/interpretable';
import type { Registry } from '@transplant/registry';
import { encodeGraph, saveGraph } from './artifact';
import { writeGraphBrowser } from './browser';
import { inferGraph, mineGraph, type ExplanatoryGraph, type Link } from './graph';
import { GRAPH_ATTACHMENT } from './graph-source';
import { GRAPH_IMAGE_SEEDS, type GraphViewRule } from './options';
import type { MiningProgress } from './mine';
import { nodeVisualizations, type VisualizeGraphNodesOptions } from './visualize-nodes';

export interface MineCategoryGraphOptions {
  readonly network: Network;
  readonly link: Link;
  /** The synthetic category whose object crops the graph is mined on (no part labels). */
  readonly category: CategoryId;
  /** The network's registry reference, recorded in the graph (`cat-cls@1.1.0`). */
  readonly reference: string;
  /** Mining images (object crops, seed `imageSeeds.mine`). */
  readonly images: number;
  /** Background scenes for the activation normaliser (seed `imageSeeds.negatives`). */
  readonly negatives: number;
  /** Seed names of the mining images and the background scenes (default GRAPH_IMAGE_SEEDS'); an experiment's seeds draw other images. */
  readonly imageSeeds?: { readonly mine: string; readonly negatives: string };
  readonly iterations?: number;
  readonly views?: GraphViewRule;
  /** Seed of the node initialisation (mineGraph's default when absent). */
  readonly seed?: string;
  /** Conv layers, top first (default: the category module's top two). */
  readonly layers?: readonly string[];
  /** Write the graph file here. */
  readonly out?: string;
  /** Attach the graph to the category module's version in this registry. */
  readonly attach?: { readonly registry: Registry; readonly replace?: boolean };
  /** Write the HTML browser (over the mining images) into this folder. */
  readonly html?: string;
  /** With `html`: show each shown node's optimized image too (`nodeVisualizations`), with these settings. */
  readonly visualize?: Omit<VisualizeGraphNodesOptions, 'graph' | 'nodes' | 'network' | 'link' | 'category'>;
  readonly onProgress?: (p: MiningProgress) => void;
}

export interface MinedCategoryGraph {
  readonly graph: ExplanatoryGraph;
  /** The mining images (the K-shot pool of the experiments). */
  readonly images: PartImages;
  readonly file?: string;
  readonly digest?: string;
  readonly attached?: string;
  readonly html?: string;
}

/**
 * The mining workflow (docs/methods.md §3): draws the category's object crops and background
 * scenes at the category module's input size, mines the graph, and writes it where asked
 * (file, registry attachment, HTML browser).
 */
export async function mineCategoryGraph(options: MineCategoryGraphOptions): Promise<MinedCategoryGraph> {
  const { network, link, category } = options;
  const size = network.module(link.category).ports.input.shape[1]!;
  const images = partImages(category, {
    count: options.images,
    size,
    crop: true,
    seed: options.imageSeeds?.mine ?? GRAPH_IMAGE_SEEDS.mine,
  });
  const negatives = backgroundImages(category, {
    count: options.negatives,
    size,
    seed: options.imageSeeds?.negatives ?? GRAPH_IMAGE_SEEDS.negatives,
  });
  const { graph } = mineGraph(
    { network, link },
    {
      images,
      negatives,
      network: options.reference,
      ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
      ...(options.views ? { views: options.views } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.layers?.length ? { layers: options.layers } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  let result: MinedCategoryGraph = { graph, images };
  if (options.out) {
    const file = resolve(options.out);
    result = { ...result, file, digest: await saveGraph(graph, file) };
  }
  if (options.attach) {
    const m = network.module(link.category);
    const r = await options.attach.registry.attach(`${m.name}@${m.published!.version}`, {
      kind: GRAPH_ATTACHMENT,
      bytes: encodeGraph(graph),
      replace: options.attach.replace === true,
    });
    result = { ...result, attached: `${r.name}@${r.version}`, digest: r.digest };
  }
  if (options.html)
    result = {
      ...result,
      html: await writeGraphBrowser(
        resolve(options.html),
        { graph, inference: inferGraph(graph, { network, link, images }), images },
        {
          title: `Explanatory graph of ${options.reference}`,
          ...(options.visualize
            ? {
                visualizations: (nodes) =>
                  nodeVisualizations({ ...options.visualize, graph, nodes, network, link, category }),
              }
            : {}),
        },
      ),
    };
  return result;
}
