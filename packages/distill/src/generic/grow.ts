import semver from 'semver';
import { Network, disposeModule, type ModuleInstance } from '@transplant/composer';
import { TransplantError, isTransplantError, type RunFolder } from '@transplant/core';
import { assertNoForgetting, assertReproducesRecord, linkDigests } from './guard';
import {
  addPlannedLink,
  growthImages,
  publishAdapters,
  type Growth,
  type LinkTraining,
  type PlannedLink,
} from './links';
import { publishGeneric, type GenericChange, type GenericContext, type GenericNetwork } from './network';

export interface GrowOptions {
  readonly current: GenericNetwork;
  readonly planned: readonly PlannedLink[];
  /** The modules the change brings (kept where a link uses them). */
  readonly newModules: readonly ModuleInstance[];
  /** The generic record's sources for the next version. */
  readonly sources: Record<string, string>;
  readonly training: LinkTraining;
  /** The card summary of the next version. */
  readonly summary: string;
  /** Resumable: each link's training state and the publication are kept here (see `GrowFromOptions.run`). */
  readonly run?: RunFolder;
}

/**
 * Learns the planned links (see `addPlannedLink`), checks that every existing link is
 * bit-identical, then publishes the adapters and the next minor version of the generic network.
 */
export async function growGeneric(ctx: GenericContext, options: GrowOptions): Promise<GenericChange> {
  const { current, training } = options;
  const started = performance.now();
  const name = current.manifest.name;
  const before = linkDigests(current.network);
  assertReproducesRecord({
    reference: `${name}@${current.manifest.version}`,
    name,
    guard: current.record.guard,
    digests: before,
    backend: ctx.backend,
    ...(ctx.log ? { log: ctx.log } : {}),
  });
  const growth: Growth = {
    adapters: [],
    outcomes: [],
    links: [...current.network.links],
    metrics: { ...current.record.metrics },
  };
  try {
    const { run } = options;
    options.planned.forEach((planned, i) =>
      addPlannedLink(ctx, {
        generic: name,
        planned,
        training,
        growth,
        ...(run
          ? { checkpoint: { directory: run.path(`link-${i}`), every: run.every, note: run.note } }
          : {}),
      }),
    );
    assertSomethingAdded(name, growth);
    const grown = grownNetwork(current, options.newModules, growth);
    training.afterTraining?.(grown);
    const guarded = assertNoForgetting(grown, before, name);
    const version = semver.inc(current.manifest.version, 'minor')!;
    // A killed run that had begun to publish this very version finds its modules there.
    const resumed = run?.read<{ version: string }>('publish')?.version === version;
    run?.write('publish', { base: `${name}@${current.manifest.version}`, version });
    try {
      await publishAdapters(ctx, { generic: name, version, network: grown, growth, training, resumed });
      await publishGeneric(ctx, {
        resumed,
        network: grown,
        name,
        version,
        record: { sources: options.sources, metrics: growth.metrics },
        summary: `${options.summary} (${growthImages(growth.outcomes)})`,
        wallSeconds: (performance.now() - started) / 1000,
      });
    } catch (error) {
      if (!resumed || !isTransplantError(error, 'E_VERSION_EXISTS')) throw error;
      throw new TransplantError(
        'E_VERSION_EXISTS',
        `${name}@${version}, which this killed change was publishing on top of ${name}@${current.manifest.version}, now holds something else (another change got there first); pass --restart to make the change again on the latest version`,
        { module: name, operation: 'generic', cause: error },
      );
    }
    const wallSeconds = (performance.now() - started) / 1000;
    return { name, version, links: growth.outcomes, guarded, wallSeconds };
  } finally {
    // The grown network is not handed out: its adapters are freed here, the other modules by the callers.
    growth.adapters.forEach(disposeModule);
  }
}

/** The current network's modules, the new modules some link uses, and the adapters, with every link. */
function grownNetwork(
  current: GenericNetwork,
  newModules: readonly ModuleInstance[],
  growth: Growth,
): Network {
  const modules = [
    ...current.network.modules.values(),
    ...newModules.filter((m) => growth.links.some((l) => l.category === m.name || l.task === m.name)),
    ...growth.adapters,
  ];
  return Network.create(modules, growth.links);
}

function assertSomethingAdded(name: string, growth: Growth): void {
  const added = growth.outcomes.filter((l) => l.status !== 'skipped');
  if (added.length === 0) {
    throw new TransplantError(
      'E_TEACHER_MISSING',
      `no link could be learned: ${growth.outcomes.map((l) => `${l.link}: ${l.reason}`).join('; ')}`,
      { module: name, operation: 'generic' },
    );
  }
}
