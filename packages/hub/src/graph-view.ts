import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Composer } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { isCategoryId } from '@transplant/data/options';
import {
  GRAPH_ATTACHMENT,
  GRAPH_IMAGE_SEEDS,
  decodeGraph,
  inferGraph,
  writeGraphBrowser,
} from '@transplant/explanatory-graph';
import { partImages } from '@transplant/interpretable';
import type { Registry } from '@transplant/registry';

/** Object crops the view infers the graph on (the mining seed's first images). */
export const GRAPH_VIEW_IMAGES = 24;

/** A graph's browser view, written once into the hub's scratch folder; files served by fixed names only. */
export interface GraphView {
  /** `''` or `index.html`: the page; `nodes/l<layer>-n<node>.png`: a node's strip. Anything else: undefined. */
  file(relative: string): Promise<{ type: string; body: Buffer } | undefined>;
}

const NODE_PICTURE = /^nodes\/l[0-9]{1,3}-n[0-9]{1,7}\.png$/;

/**
 * Explanatory-graph attachments open in the explanatory-graph package's own HTML browser
 * (`writeGraphBrowser`): the graph is decoded, inferred on object crops of its category with the
 * network it was mined from, and the browser written under the attachment's digest — once per
 * digest (attachments never change), however many requests ask at once.
 */
export class GraphViews {
  private readonly views = new Map<string, Promise<GraphView>>();

  constructor(
    private readonly composer: Composer,
    private readonly root: string,
  ) {}

  open(ref: string, digest: string, registry: Registry): Promise<GraphView> {
    let view = this.views.get(digest);
    if (!view) {
      view = this.write(ref, digest, registry);
      // A failure is not kept: the next request tries again.
      view.catch(() => this.views.delete(digest));
      this.views.set(digest, view);
    }
    return view;
  }

  private async write(ref: string, digest: string, registry: Registry): Promise<GraphView> {
    const { bytes } = await registry.attachment(ref, GRAPH_ATTACHMENT);
    const graph = decodeGraph(bytes);
    const { network, manifest } = await this.composer.load(graph.subject.network);
    const dir = join(this.root, digest.replace(/^sha256:/, ''));
    try {
      const link = graph.subject.link;
      const category = network.module(link.category).category ?? manifest.category ?? '';
      if (!isCategoryId(category))
        throw new TransplantError(
          'E_INVALID_ARGUMENT',
          `${link.category} names no synthetic category; the graph view draws its object crops`,
          { operation: 'hub graph view' },
        );
      const images = partImages(category, {
        count: GRAPH_VIEW_IMAGES,
        size: graph.imageSize,
        crop: true,
        seed: GRAPH_IMAGE_SEEDS.mine,
      });
      const inference = inferGraph(graph, { network, link, images });
      await writeGraphBrowser(
        dir,
        { graph, inference, images },
        {
          title: `Explanatory graph of ${ref} (mined from ${graph.subject.network})`,
          nodesPerLayer: 12,
          images: 6,
        },
      );
    } finally {
      network.dispose();
    }
    return {
      file: async (relative) => {
        if (relative === '' || relative === 'index.html')
          return { type: 'text/html; charset=utf-8', body: await readFile(join(dir, 'index.html')) };
        if (!NODE_PICTURE.test(relative)) return undefined;
        try {
          return { type: 'image/png', body: await readFile(join(dir, relative)) };
        } catch {
          return undefined;
        }
      },
    };
  }
}
