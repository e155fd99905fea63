import * as tf from '@tensorflow/tfjs';
import semver from 'semver';
import {
  Network,
  disposeModule,
  linkId,
  parseGenericRecord,
  publishModule,
  publishNetwork,
  type Composer,
  type GenericRecord,
  type LinkSpec,
  type ModuleInstance,
} from '@transplant/composer';
import {
  MODULE_NAME_MAX_LENGTH,
  TransplantError,
  isTransplantError,
  sha256Digest,
  type ModuleManifest,
  type TaskId,
} from '@transplant/core';
import {
  CATEGORY_IDS,
  SyntheticSet,
  disposeBatch,
  isCategoryId,
  renderBatch,
  type CategoryId,
  type SampleCategory,
} from '@transplant/data';
import { linkOf, teacherFor, type SpecificNetwork } from './teacher';
import { learnLink } from './transplant';
import type { DistillMethod, ProbeKind } from './train-adapter';

/** The probe set every generic network is guarded with: seeded images of every category and backgrounds. */
export const GUARD_PROBE = { seed: 'generic-guard', count: 18 } as const;

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

/** How adapters of a new category or task are learned (the transplant defaults). */
export interface LinkTraining {
  readonly samples?: number;
  readonly adapterLayers?: 1 | 3;
  readonly probe?: ProbeKind;
  readonly steps?: number;
  readonly seed?: number;
  readonly progress?: (link: string, step: number, loss: number) => void;
  /** Runs after the new adapters are trained and before the no-forgetting check (tests perturb a frozen module here). */
  readonly afterTraining?: (network: Network) => void;
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

function probeImages(size: number): tf.Tensor4D {
  const categories: SampleCategory[] = [...CATEGORY_IDS, 'background'];
  const set = new SyntheticSet({ seed: GUARD_PROBE.seed, size, categories: [...CATEGORY_IDS] });
  const refs = Array.from({ length: GUARD_PROBE.count }, (_, k) => ({
    split: 'test' as const,
    index: 0,
    category: categories[k % categories.length]!,
    seed: `${GUARD_PROBE.seed}:${k}`,
  }));
  const batch = renderBatch(set, refs, { kind: 'binary', category: CATEGORY_IDS[0]! });
  const images = batch.images.clone();
  disposeBatch(batch);
  return images;
}

/** sha256 of every link's outputs on the probe set: bit-exact fingerprints of what each link computes. */
export function linkDigests(
  network: Network,
  links: readonly LinkSpec[] = network.links,
): Record<string, string> {
  // Probe images at each input size the links take (category modules may differ in size).
  const images = new Map<number, tf.Tensor4D>();
  try {
    return Object.fromEntries(
      links.map((link) => {
        const size = network.module(link.category).ports.input.shape[1]!;
        if (!images.has(size)) images.set(size, probeImages(size));
        const out = network.run(link.category, link.task, images.get(size)!);
        const bytes = new Uint8Array((out.dataSync() as Float32Array).slice().buffer);
        out.dispose();
        return [linkId(link), sha256Digest(bytes)];
      }),
    );
  } finally {
    tf.dispose([...images.values()]);
  }
}

/** Refuses (E_FORGETTING, naming every changed link) unless every link's outputs are bit-identical to `before`. */
export function assertNoForgetting(
  network: Network,
  before: Readonly<Record<string, string>>,
  name: string,
): string[] {
  const links = network.links.filter((l) => before[linkId(l)] !== undefined);
  const after = linkDigests(network, links);
  const changed = links.map(linkId).filter((id) => after[id] !== before[id]);
  if (changed.length > 0) {
    throw new TransplantError(
      'E_FORGETTING',
      `${changed.join('; ')}: the outputs on the probe images changed (${changed.map((id) => `${before[id]!.slice(0, 19)}… → ${after[id]!.slice(0, 19)}…`).join('; ')})`,
      {
        module: name,
        operation: 'guard',
        details: { changed, before, after },
      },
    );
  }
  return links.map(linkId);
}

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

const categoryOf = (m: ModuleInstance, source?: ModuleManifest): CategoryId => {
  const c = source?.category ?? m.category;
  if (!c || !isCategoryId(c))
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${m.name} names no synthetic category (${c}); adapters are learned on that category's images`,
      { module: m.name, operation: 'generic' },
    );
  return c;
};

async function publishGeneric(
  ctx: GenericContext,
  network: Network,
  name: string,
  version: string,
  record: Omit<GenericRecord, 'guard'>,
  summary: string,
  wallSeconds: number,
): Promise<void> {
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
  await publishNetwork(ctx.composer.registry, network, {
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
  });
}

async function assertNameFree(composer: Composer, name: string): Promise<void> {
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

/**
 * A new generic network from specific networks: their category and task modules and their
 * own links (no adapters), with each link's held-out metric from the network's card.
 */
export async function createGeneric(
  ctx: GenericContext,
  name: string,
  from: readonly string[],
): Promise<GenericChange> {
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
    const modules = new Map<string, ModuleInstance>();
    const links: LinkSpec[] = [];
    const sources: Record<string, string> = {};
    const metrics: Record<string, { name: string; value: number }> = {};
    for (const s of loaded) {
      const { category, task } = linkOf(s);
      for (const m of [category, task]) if (!modules.has(m.name)) modules.set(m.name, m);
      sources[category.name] ??= `${s.manifest.name}@${s.manifest.version}`;
      const link = { category: category.name, task: task.name };
      links.push(link);
      const metric = s.manifest.card.metrics[0];
      if (metric) metrics[linkId(link)] = { name: metric.name, value: metric.value };
    }
    const network = Network.create([...modules.values()], links);
    await publishGeneric(
      ctx,
      network,
      name,
      '1.0.0',
      { sources, metrics },
      `generic network from ${from.join(', ')}`,
      (performance.now() - started) / 1000,
    );
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

/** `<generic>-<category module>-to-<task module>`, or with a digest of that for names past the limit. */
function adapterName(generic: string, category: string, task: string): string {
  const full = `${generic}-${category}-to-${task}`;
  if (full.length <= MODULE_NAME_MAX_LENGTH) return full;
  const tag = sha256Digest(new TextEncoder().encode(full)).slice(7, 19);
  return `${full.slice(0, MODULE_NAME_MAX_LENGTH - tag.length - 1).replace(/-+$/, '')}-${tag}`;
}

interface PlannedLink {
  readonly f: ModuleInstance;
  readonly g: ModuleInstance;
  /** The specific network whose own head teaches links on f. */
  readonly source: SpecificNetwork;
  readonly category: CategoryId;
}

/**
 * Learns the planned links (BD where a teacher or bridge exists, OL where `samples` > 0 and
 * none does, else skipped with the reason; a link whose f and g are the source network's own
 * is direct), checks that every existing link is bit-identical, then publishes the adapters
 * and the next minor version of the generic network.
 */
async function growGeneric(
  ctx: GenericContext,
  current: GenericNetwork,
  planned: readonly PlannedLink[],
  newModules: readonly ModuleInstance[],
  sources: Record<string, string>,
  o: LinkTraining,
  summary: string,
): Promise<GenericChange> {
  const started = performance.now();
  const name = current.manifest.name;
  const existing = current.network.links;
  const before = linkDigests(current.network);
  if (current.record.guard.backend === ctx.backend) {
    const drifted = Object.keys(before).filter((id) => current.record.guard.outputs[id] !== before[id]);
    if (drifted.length > 0) {
      throw new TransplantError(
        'E_FORGETTING',
        `${drifted.join('; ')}: ${name}@${current.manifest.version} as loaded does not reproduce its recorded outputs on ${ctx.backend}`,
        { module: name, operation: 'guard', details: { drifted } },
      );
    }
  } else {
    ctx.log?.(
      `the guard digests of ${name}@${current.manifest.version} were taken on ${current.record.guard.backend}; comparing with a fresh run on ${ctx.backend}`,
    );
  }
  const adapters: ModuleInstance[] = [];
  const outcomes: LinkOutcome[] = [];
  const links: LinkSpec[] = [...existing];
  const metrics: Record<string, { name: string; value: number }> = { ...current.record.metrics };
  try {
    for (const p of planned) {
      const id = linkId({ category: p.f.name, task: p.g.name });
      const own = linkOf(p.source);
      if (
        own.task.published?.digest === p.g.published?.digest &&
        own.category.published?.digest === p.f.published?.digest
      ) {
        links.push({ category: p.f.name, task: p.g.name });
        const metric = p.source.manifest.card.metrics[0];
        if (metric) metrics[id] = { name: metric.name, value: metric.value };
        outcomes.push({
          link: id,
          status: 'direct',
          ...(metric ? { metric: { name: metric.name, value: metric.value } } : {}),
        });
        continue;
      }
      const resolution = teacherFor(p.g.task as TaskId, p.source);
      const samples = o.samples ?? 0;
      if (resolution.kind === 'none' && samples === 0) {
        outcomes.push({
          link: id,
          status: 'skipped',
          reason: `${resolution.reason}; pass --samples N to learn it from annotated images`,
        });
        ctx.log?.(`${id}: skipped (${resolution.reason})`);
        continue;
      }
      const method: DistillMethod = resolution.kind === 'none' ? 'ol' : 'bd';
      ctx.log?.(
        `${id}: learning an adapter (${method}${resolution.kind !== 'none' ? `, teacher ${resolution.description}` : `, ${samples} annotated images`})`,
      );
      const learned = learnLink({
        plugins: ctx.composer.plugins,
        f: p.f,
        g: p.g,
        resolution,
        category: p.category,
        adapterName: adapterName(name, p.f.name, p.g.name),
        method,
        samples,
        adapterLayers: o.adapterLayers ?? 1,
        ...(o.probe ? { probe: o.probe } : {}),
        steps: o.steps ?? 300,
        seed: o.seed ?? 1,
        ...(o.progress ? { progress: (step: number, loss: number) => o.progress!(id, step, loss) } : {}),
      });
      adapters.push(learned.adapter);
      links.push({ category: p.f.name, task: p.g.name, adapter: learned.adapter.name });
      metrics[id] = learned.metric;
      const parameters = learned.adapter.built.layers.reduce((n, l) => n + l.countParams(), 0);
      outcomes.push({
        link: id,
        status: 'learned',
        method,
        teacher: resolution.kind === 'none' ? 'none' : resolution.description,
        adapter: learned.adapter.name,
        adapterParameters: parameters,
        metric: learned.metric,
      });
    }
    const added = outcomes.filter((l) => l.status !== 'skipped');
    if (added.length === 0) {
      throw new TransplantError(
        'E_TEACHER_MISSING',
        `no link could be learned: ${outcomes.map((l) => `${l.link}: ${l.reason}`).join('; ')}`,
        { module: name, operation: 'generic' },
      );
    }
    const modules = [
      ...current.network.modules.values(),
      ...newModules.filter((m) => links.some((l) => l.category === m.name || l.task === m.name)),
      ...adapters,
    ];
    const grown = Network.create(modules, links);
    o.afterTraining?.(grown);
    const guarded = assertNoForgetting(grown, before, name);
    const version = semver.inc(current.manifest.version, 'minor')!;
    for (const adapter of adapters) {
      const link = links.find((l) => l.adapter === adapter.name)!;
      const pin = (m: ModuleInstance, kind: 'category' | 'task') => ({
        name: m.name,
        kind,
        range: m.published!.version,
        pinned: { version: m.published!.version, digest: m.published!.digest },
      });
      await publishModule(ctx.composer.registry, adapter, {
        version,
        generatedBy: ctx.generatedBy,
        provenance: {
          data: `generic ${name}: ${linkId(link)}`,
          seed: o.seed ?? 1,
          steps: o.steps ?? 300,
          backend: ctx.backend,
        },
        card: {
          summary: `adapter of ${name}@${version} on ${linkId(link)}`,
          metrics: metrics[linkId(link)] ? [{ ...metrics[linkId(link)]!, on: 'held-out' }] : [],
        },
        dependencies: [pin(grown.module(link.category), 'category'), pin(grown.module(link.task), 'task')],
      });
    }
    await publishGeneric(
      ctx,
      grown,
      name,
      version,
      { sources, metrics },
      summary,
      (performance.now() - started) / 1000,
    );
    return { name, version, links: outcomes, guarded, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    // The grown network is not handed out: its adapters are freed here, the other modules by the callers.
    adapters.forEach(disposeModule);
  }
}

async function loadSpecific(composer: Composer, reference: string): Promise<SpecificNetwork> {
  const s = await composer.load(reference);
  linkOf(s);
  return s;
}

const disposeAll = (...networks: (Network | undefined)[]) => {
  for (const n of networks) if (n) for (const m of n.modules.values()) disposeModule(m);
};

/**
 * `add-category --generic G --from cat-seg`: adds the specific network's category module and
 * learns an adapter to every task module of G (see `growGeneric`).
 */
export async function addCategory(
  ctx: GenericContext,
  generic: string,
  from: string,
  o: LinkTraining = {},
): Promise<GenericChange> {
  const current = await loadGeneric(ctx.composer, generic);
  const source = await loadSpecific(ctx.composer, from).catch((error: unknown) => {
    disposeAll(current.network);
    throw error;
  });
  try {
    const f = linkOf(source).category;
    if (current.network.modules.has(f.name))
      throw new TransplantError(
        'E_COMPOSITION_INVALID',
        `${current.manifest.name} already holds the category module ${f.name}`,
        { module: current.manifest.name, operation: 'add-category' },
      );
    const category = categoryOf(f, source.manifest);
    const planned = current.network.ofKind('task').map((g) => ({ f, g, source, category }));
    const sources = {
      ...current.record.sources,
      [f.name]: `${source.manifest.name}@${source.manifest.version}`,
    };
    return await growGeneric(
      ctx,
      current,
      planned,
      [f],
      sources,
      o,
      `${current.manifest.name}: added the category module ${f.name} from ${from}`,
    );
  } finally {
    disposeAll(current.network, source.network);
  }
}

/**
 * `add-task --generic G --from bird-seg`: adds the specific network's task module and learns
 * an adapter from every category module of G to it, taught by the specific network each
 * category module came from (its own head, or a bridge from it).
 */
export async function addTask(
  ctx: GenericContext,
  generic: string,
  from: string,
  o: LinkTraining = {},
): Promise<GenericChange> {
  const current = await loadGeneric(ctx.composer, generic);
  const loaded: SpecificNetwork[] = [];
  try {
    const donor = await loadSpecific(ctx.composer, from);
    loaded.push(donor);
    const g = linkOf(donor).task;
    if (current.network.modules.has(g.name))
      throw new TransplantError(
        'E_COMPOSITION_INVALID',
        `${current.manifest.name} already holds the task module ${g.name}`,
        { module: current.manifest.name, operation: 'add-task' },
      );
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
    return await growGeneric(
      ctx,
      current,
      planned,
      [g],
      { ...current.record.sources },
      o,
      `${current.manifest.name}: added the task module ${g.name} from ${from}`,
    );
  } finally {
    disposeAll(current.network, ...loaded.map((s) => s.network));
  }
}

/** `remove-category --generic G --category cat-seg-features`: the next version without it (older versions still resolve). */
export async function removeCategory(
  ctx: GenericContext,
  generic: string,
  categoryModule: string,
): Promise<GenericChange> {
  const started = performance.now();
  const current = await loadGeneric(ctx.composer, generic);
  try {
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
    await publishGeneric(
      ctx,
      smaller,
      name,
      version,
      { sources, metrics: keep(current.record.metrics) as GenericRecord['metrics'] },
      `${name}: removed the category module ${categoryModule}`,
      (performance.now() - started) / 1000,
    );
    const removed = current.network.links
      .filter((l) => l.category === categoryModule)
      .map((l) => ({ link: linkId(l), status: 'skipped' as const, reason: 'removed' }));
    return { name, version, links: removed, guarded, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    disposeAll(current.network);
  }
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
