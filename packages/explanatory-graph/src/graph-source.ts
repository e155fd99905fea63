import { resolve } from 'node:path';
import { TransplantError } from '@transplant/core';
import type { Network } from '@transplant/composer';
import type { Registry } from '@transplant/registry';
import { decodeGraph, loadGraph } from './artifact';
import type { ExplanatoryGraph, Link } from './graph';

/** The registry attachment kind graphs are stored under, on their category module's version. */
export const GRAPH_ATTACHMENT = 'explanatory-graph';

export interface GraphSourceOptions {
  readonly network: Network;
  readonly link: Pick<Link, 'category'>;
  /** A graph file; without it, the graph attached to the category module in `registry`. */
  readonly file?: string;
  readonly registry: Pick<Registry, 'attachment'>;
}

/** A graph from a file, or the one attached to the network's category module in the registry. */
export async function loadGraphFor(options: GraphSourceOptions): Promise<ExplanatoryGraph> {
  if (options.file) return loadGraph(resolve(options.file));
  const m = options.network.module(options.link.category);
  if (!m.published)
    throw new TransplantError('E_INVALID_ARGUMENT', `${m.name} is not from the registry; pass --graph FILE`, {
      operation: 'graph',
    });
  const { bytes } = await options.registry.attachment(`${m.name}@${m.published.version}`, GRAPH_ATTACHMENT);
  return decodeGraph(bytes);
}
