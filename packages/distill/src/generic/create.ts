import { Network, disposeModule, linkId, type LinkSpec, type ModuleInstance } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { linkOf, type SpecificNetwork } from '../teacher';
import {
  assertNameFree,
  publishGeneric,
  type GenericChange,
  type GenericContext,
  type LinkMetrics,
} from './network';

export interface CreateGenericOptions {
  /** The new generic network's name (must not exist yet). */
  readonly name: string;
  /** Specific networks, e.g. ['bird-cls', 'bird-seg']. */
  readonly from: readonly string[];
}

/**
 * A new generic network from specific networks: their category and task modules and their
 * own links (no adapters), with each link's held-out metric from the network's card.
 */
export async function createGeneric(
  ctx: GenericContext,
  options: CreateGenericOptions,
): Promise<GenericChange> {
  const { name, from } = options;
  const started = performance.now();
  if (from.length === 0)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      'generic create needs at least one specific network (--from bird-cls,bird-seg)',
      { operation: 'generic create' },
    );
  await assertNameFree(ctx.composer, name);
  const loaded: SpecificNetwork[] = [];
  try {
    for (const ref of from) loaded.push(await ctx.composer.load(ref));
    const { modules, links, sources, metrics } = ownLinks(loaded);
    await publishGeneric(ctx, {
      network: Network.create(modules, links),
      name,
      version: '1.0.0',
      record: { sources, metrics },
      summary: `generic network from ${from.join(', ')}`,
      wallSeconds: (performance.now() - started) / 1000,
    });
    return {
      name,
      version: '1.0.0',
      links: links.map((l) => ({
        link: linkId(l),
        status: 'direct' as const,
        ...(metrics[linkId(l)] ? { metric: metrics[linkId(l)]! } : {}),
      })),
      guarded: [],
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const s of loaded) for (const m of s.network.modules.values()) disposeModule(m);
  }
}

/** The specific networks' modules (each once), own links, category sources and card metrics. */
function ownLinks(loaded: readonly SpecificNetwork[]) {
  const modules = new Map<string, ModuleInstance>();
  const links: LinkSpec[] = [];
  const sources: Record<string, string> = {};
  const metrics: LinkMetrics = {};
  for (const s of loaded) {
    const { category, task } = linkOf(s);
    for (const m of [category, task]) if (!modules.has(m.name)) modules.set(m.name, m);
    sources[category.name] ??= `${s.manifest.name}@${s.manifest.version}`;
    const link = { category: category.name, task: task.name };
    links.push(link);
    const metric = s.manifest.card.metrics[0];
    if (metric) metrics[linkId(link)] = { name: metric.name, value: metric.value };
  }
  return { modules: [...modules.values()], links, sources, metrics };
}
