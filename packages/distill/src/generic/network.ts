import {
  disposeModule,
  linkId,
  parseGenericRecord,
  type Composer,
  type GenericRecord,
  type ModuleInstance,
  type Network,
} from '@transplant/composer';
import { TransplantError, isTransplantError, type ModuleManifest } from '@transplant/core';
import { isCategoryId, type CategoryId } from '@transplant/data';
import { publishNetworkOnce } from '../publish-resumed';
import { linkOf, type BridgeCalibration, type SpecificNetwork } from '../teacher';
import type { DistillMethod } from '../training-defaults';
import { GUARD_PROBE, linkDigests } from './guard';

/** A generic network as loaded: its composition, its record and its manifest. */
export interface GenericNetwork {
  readonly manifest: ModuleManifest;
  readonly network: Network;
  readonly record: GenericRecord;
}

export interface GenericContext {
  readonly composer: Composer;
  readonly generatedBy: string;
  readonly backend: string;
  readonly log?: (line: string) => void;
}

/** One link the change learned, or skipped and why. */
export interface LinkOutcome {
  readonly link: string;
  readonly status: 'learned' | 'direct' | 'skipped';
  readonly method?: DistillMethod;
  readonly teacher?: string;
  readonly adapter?: string;
  readonly adapterParameters?: number;
  readonly metric?: { readonly name: string; readonly value: number };
  /** A learned link: images whose labels or masks it read (OL samples, a labelled calibration). */
  readonly annotatedImages?: number;
  /** A learned link: negatives whose absence of the category is known by construction. */
  readonly knownNegatives?: number;
  /** A learned link on a seg → cls bridge: how the bridge was calibrated. */
  readonly calibration?: BridgeCalibration;
  readonly reason?: string;
}

export interface GenericChange {
  readonly name: string;
  readonly version: string;
  readonly links: readonly LinkOutcome[];
  /** The existing links the guard re-ran, all bit-identical (else nothing was published). */
  readonly guarded: readonly string[];
  readonly wallSeconds: number;
}

export type LinkMetrics = Record<string, { name: string; value: number }>;

export async function loadGeneric(composer: Composer, reference: string): Promise<GenericNetwork> {
  const { network, manifest } = await composer.load(reference);
  const record = parseGenericRecord(manifest.options, `${manifest.name}@${manifest.version}`);
  if (!record) {
    network.dispose();
    throw new TransplantError(
      'E_COMPOSITION_INVALID',
      `${manifest.name}@${manifest.version} is not a generic network (no generic record); create one with \`transplant generic create\``,
      { module: manifest.name, operation: 'load' },
    );
  }
  return { manifest, network, record };
}

/** A specific network, checked to hold one category and one task module. */
export async function loadSpecific(composer: Composer, reference: string): Promise<SpecificNetwork> {
  const s = await composer.load(reference);
  linkOf(s);
  return s;
}

/** Frees every module of the networks given (undefined ones are skipped). */
export const disposeAll = (...networks: (Network | undefined)[]): void => {
  for (const n of networks) if (n) for (const m of n.modules.values()) disposeModule(m);
};

/** The synthetic category a category module was trained on (adapters are learned on its images). */
export const categoryOf = (m: ModuleInstance, source?: ModuleManifest): CategoryId => {
  const c = source?.category ?? m.category;
  if (!c || !isCategoryId(c))
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${m.name} names no synthetic category (${c}); adapters are learned on that category's images`,
      { module: m.name, operation: 'generic' },
    );
  return c;
};

export async function assertNameFree(composer: Composer, name: string): Promise<void> {
  try {
    await composer.registry.index(name);
  } catch (error) {
    if (isTransplantError(error, 'E_MODULE_NOT_FOUND')) return;
    throw error;
  }
  throw new TransplantError(
    'E_VERSION_EXISTS',
    `${name} exists already; add to it with add-category / add-task, or pick another name`,
    { module: name, operation: 'generic create' },
  );
}

/** One version of a generic network to publish. */
export interface GenericPublication {
  readonly network: Network;
  readonly name: string;
  readonly version: string;
  /** Sources and metrics; the guard (probe digests on this backend) is added here. */
  readonly record: Omit<GenericRecord, 'guard'>;
  readonly summary: string;
  readonly wallSeconds: number;
  /** A killed run had begun this publication: the version already there with the same modules is this one. */
  readonly resumed?: boolean;
}

/** Publishes the network with its generic record, whose guard digests are taken now. */
export async function publishGeneric(ctx: GenericContext, publication: GenericPublication): Promise<void> {
  const { network, name, version, record, summary, wallSeconds, resumed = false } = publication;
  const outputs = linkDigests(network);
  const generic: GenericRecord = {
    ...record,
    guard: { probe: { ...GUARD_PROBE }, backend: ctx.backend, outputs },
  };
  const metrics = Object.entries(record.metrics).map(([link, m]) => ({
    name: m.name,
    value: m.value,
    on: `${link} (held-out)`,
  }));
  await publishNetworkOnce(
    ctx.composer.registry,
    network,
    {
      name,
      version,
      generatedBy: ctx.generatedBy,
      provenance: {
        data: `guard probe ${GUARD_PROBE.seed} × ${GUARD_PROBE.count}`,
        seed: 0,
        steps: 0,
        backend: ctx.backend,
        wallSeconds: Math.round(wallSeconds * 10) / 10,
      },
      card: { summary, metrics },
      generic,
    },
    resumed,
  );
}

/** The category × task matrix of a generic network: which links exist, their adapter and held-out metric. */
export interface GenericMatrix {
  readonly name: string;
  readonly version: string;
  readonly categories: readonly string[];
  readonly tasks: readonly string[];
  readonly cells: readonly {
    readonly category: string;
    readonly task: string;
    readonly adapter?: string;
    readonly metric?: { readonly name: string; readonly value: number };
  }[];
}

export function genericMatrix(g: GenericNetwork): GenericMatrix {
  return {
    name: g.manifest.name,
    version: g.manifest.version,
    categories: g.network.ofKind('category').map((m) => m.name),
    tasks: g.network.ofKind('task').map((m) => m.name),
    cells: g.network.links.map((l) => ({
      category: l.category,
      task: l.task,
      ...(l.adapter ? { adapter: l.adapter } : {}),
      ...(g.record.metrics[linkId(l)] ? { metric: g.record.metrics[linkId(l)]! } : {}),
    })),
  };
}
