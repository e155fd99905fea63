import semver from 'semver';
import { Network, linkId, type GenericRecord, type LinkSpec } from '@transplant/composer';
import { TransplantError, type RunFolder } from '@transplant/core';
import { linkOf, type SpecificNetwork } from '../teacher';
import { growGeneric } from './grow';
import { assertNoForgetting, linkDigests } from './guard';
import type { LinkTraining, PlannedLink } from './links';
import {
  categoryOf,
  disposeAll,
  loadGeneric,
  loadSpecific,
  publishGeneric,
  type GenericChange,
  type GenericContext,
  type GenericNetwork,
} from './network';

/** What `addCategory` and `addTask` take. */
export interface GrowFromOptions {
  /** The generic network, e.g. `animals` (its latest version) or `animals@1.2.0`. */
  readonly generic: string;
  /** The specific network whose module joins, e.g. `cat-seg`. */
  readonly from: string;
  readonly training?: LinkTraining;
  /**
   * Where a long change keeps what it needs to resume after a kill (each link's training
   * state, the version it publishes and the version it grows): see `RunFolder`.
   */
  readonly run?: RunFolder;
}

/** The generic network a change grows: the version a killed run of it recorded, else the one asked for. */
const baseOf = (options: GrowFromOptions): string =>
  options.run?.read<{ base: string }>('publish')?.base ?? options.generic;

const alreadyHolds = (current: GenericNetwork, kind: 'category' | 'task', module: string) =>
  new TransplantError(
    'E_COMPOSITION_INVALID',
    `${current.manifest.name} already holds the ${kind} module ${module}`,
    { module: current.manifest.name, operation: `add-${kind}` },
  );

/**
 * `add-category --generic G --from cat-seg`: adds the specific network's category module and
 * learns an adapter to every task module of G (see `growGeneric`).
 */
export async function addCategory(ctx: GenericContext, options: GrowFromOptions): Promise<GenericChange> {
  const { from } = options;
  const current = await loadGeneric(ctx.composer, baseOf(options));
  const source = await loadSpecific(ctx.composer, from).catch((error: unknown) => {
    disposeAll(current.network);
    throw error;
  });
  try {
    const f = linkOf(source).category;
    if (current.network.modules.has(f.name)) throw alreadyHolds(current, 'category', f.name);
    const category = categoryOf(f, source.manifest);
    return await growGeneric(ctx, {
      current,
      planned: current.network.ofKind('task').map((g) => ({ f, g, source, category })),
      newModules: [f],
      sources: {
        ...current.record.sources,
        [f.name]: `${source.manifest.name}@${source.manifest.version}`,
      },
      training: options.training ?? {},
      ...(options.run ? { run: options.run } : {}),
      summary: `${current.manifest.name}: added the category module ${f.name} from ${from}`,
    });
  } finally {
    disposeAll(current.network, source.network);
  }
}

/**
 * `add-task --generic G --from bird-seg`: adds the specific network's task module and learns
 * an adapter from every category module of G to it, taught by the specific network each
 * category module came from (its own head, or a bridge from it).
 */
export async function addTask(ctx: GenericContext, options: GrowFromOptions): Promise<GenericChange> {
  const { from } = options;
  const current = await loadGeneric(ctx.composer, baseOf(options));
  const loaded: SpecificNetwork[] = [];
  try {
    const donor = await loadSpecific(ctx.composer, from);
    loaded.push(donor);
    const g = linkOf(donor).task;
    if (current.network.modules.has(g.name)) throw alreadyHolds(current, 'task', g.name);
    const planned: PlannedLink[] = [];
    for (const f of current.network.ofKind('category')) {
      const ref = current.record.sources[f.name];
      if (!ref)
        throw new TransplantError(
          'E_COMPOSITION_INVALID',
          `${current.manifest.name} does not record where ${f.name} came from`,
          { module: current.manifest.name, operation: 'add-task' },
        );
      const source = await loadSpecific(ctx.composer, ref);
      loaded.push(source);
      planned.push({ f, g, source, category: categoryOf(f, source.manifest) });
    }
    return await growGeneric(ctx, {
      current,
      planned,
      newModules: [g],
      sources: { ...current.record.sources },
      training: options.training ?? {},
      ...(options.run ? { run: options.run } : {}),
      summary: `${current.manifest.name}: added the task module ${g.name} from ${from}`,
    });
  } finally {
    disposeAll(current.network, ...loaded.map((s) => s.network));
  }
}

export interface RemoveCategoryOptions {
  /** The generic network, e.g. `animals`. */
  readonly generic: string;
  /** The category module to remove, e.g. `cat-seg-features`. */
  readonly category: string;
}

/** `remove-category --generic G --category cat-seg-features`: the next version without it (older versions still resolve). */
export async function removeCategory(
  ctx: GenericContext,
  options: RemoveCategoryOptions,
): Promise<GenericChange> {
  const started = performance.now();
  const current = await loadGeneric(ctx.composer, options.generic);
  const categoryModule = options.category;
  try {
    const name = current.manifest.name;
    const links = remainingLinks(current, categoryModule);
    const before = linkDigests(current.network, links);
    const used = new Set(links.flatMap((l) => [l.category, l.task, ...(l.adapter ? [l.adapter] : [])]));
    // The remaining modules move to the smaller network; the removed ones are freed with `current`.
    const kept = [...current.network.modules.values()].filter((m) => used.has(m.name));
    const smaller = Network.create(kept, links);
    const guarded = assertNoForgetting(smaller, before, name);
    const keep = (r: Readonly<Record<string, unknown>>) =>
      Object.fromEntries(Object.entries(r).filter(([id]) => links.some((l) => linkId(l) === id)));
    const sources = Object.fromEntries(
      Object.entries(current.record.sources).filter(([m]) => m !== categoryModule),
    );
    const version = semver.inc(current.manifest.version, 'minor')!;
    await publishGeneric(ctx, {
      network: smaller,
      name,
      version,
      record: { sources, metrics: keep(current.record.metrics) as GenericRecord['metrics'] },
      summary: `${name}: removed the category module ${categoryModule}`,
      wallSeconds: (performance.now() - started) / 1000,
    });
    const removed = current.network.links
      .filter((l) => l.category === categoryModule)
      .map((l) => ({ link: linkId(l), status: 'skipped' as const, reason: 'removed' }));
    return { name, version, links: removed, guarded, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    disposeAll(current.network);
  }
}

/** The links that stay once `categoryModule` goes; refuses an unknown module or an empty result. */
function remainingLinks(current: GenericNetwork, categoryModule: string): LinkSpec[] {
  const name = current.manifest.name;
  const f = current.network.modules.get(categoryModule);
  if (!f || f.kind !== 'category') {
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${name}@${current.manifest.version} has no category module ${categoryModule}; it has ${current.network
        .ofKind('category')
        .map((m) => m.name)
        .join(', ')}`,
      { module: name, operation: 'remove-category' },
    );
  }
  const links = current.network.links.filter((l) => l.category !== categoryModule);
  if (links.length === 0)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${categoryModule} is on every link of ${name}; a generic network keeps at least one link`,
      { module: name, operation: 'remove-category' },
    );
  return links;
}
