import { linkId, type LinkSpec, type ModuleInstance, type Network } from '@transplant/composer';
import { MODULE_NAME_MAX_LENGTH, sha256Digest, type TaskId } from '@transplant/core';
import type { CategoryId } from '@transplant/data';
import { annotationLine } from '../bridge-calibration';
import { NEGATIVES } from '../transplant-data';
import { linkOf, teacherFor, type SpecificNetwork, type TeacherResolution } from '../teacher';
import type { CalibrationMode, DistillMethod, ProbeKind } from '../training-defaults';
import { publishModuleOnce } from '../publish-resumed';
import { learnLink, type LinkCheckpoint } from '../transplant';
import type { GenericContext, LinkMetrics, LinkOutcome } from './network';

/** How adapters of a new category or task are learned (the transplant defaults). */
export interface LinkTraining {
  readonly samples?: number;
  readonly adapterLayers?: 1 | 3;
  readonly probe?: ProbeKind;
  readonly steps?: number;
  readonly seed?: number;
  /** A seg → cls bridge's calibration (default `label-free`; `labelled` reads 200 dev labels per link). */
  readonly calibration?: CalibrationMode;
  readonly progress?: (link: string, step: number, loss: number) => void;
  /** Runs after the new adapters are trained and before the no-forgetting check (tests perturb a frozen module here). */
  readonly afterTraining?: (network: Network) => void;
}

/** One link a change adds: category module f to task module g. */
export interface PlannedLink {
  readonly f: ModuleInstance;
  readonly g: ModuleInstance;
  /** The specific network whose own head teaches links on f. */
  readonly source: SpecificNetwork;
  readonly category: CategoryId;
}

/** What the links learned so far add to the network (the caller frees `adapters`). */
export interface Growth {
  readonly adapters: ModuleInstance[];
  readonly outcomes: LinkOutcome[];
  readonly links: LinkSpec[];
  readonly metrics: LinkMetrics;
}

/** `<generic>-<category module>-to-<task module>`, or with a digest of that for names past the limit. */
function adapterName(generic: string, category: string, task: string): string {
  const full = `${generic}-${category}-to-${task}`;
  if (full.length <= MODULE_NAME_MAX_LENGTH) return full;
  const tag = sha256Digest(new TextEncoder().encode(full)).slice(7, 19);
  return `${full.slice(0, MODULE_NAME_MAX_LENGTH - tag.length - 1).replace(/-+$/, '')}-${tag}`;
}

/** Whether f and g are the source network's own modules (the link needs no adapter). */
function isOwnLink(p: PlannedLink): boolean {
  const own = linkOf(p.source);
  return (
    own.task.published?.digest === p.g.published?.digest &&
    own.category.published?.digest === p.f.published?.digest
  );
}

export interface AddLinkOptions {
  /** The generic network's name (adapters are named after it). */
  readonly generic: string;
  readonly planned: PlannedLink;
  readonly training: LinkTraining;
  /** Where the link's outcome, spec, metric and adapter are added. */
  readonly growth: Growth;
  /** Resumable training of the link's adapter. */
  readonly checkpoint?: LinkCheckpoint;
}

/**
 * Adds one planned link to `growth`: direct where f and g are the source network's own, else
 * an adapter learned by BD where a teacher or bridge exists, by OL where `samples` > 0 and
 * none does; else the link is skipped with the reason.
 */
export function addPlannedLink(ctx: GenericContext, options: AddLinkOptions): void {
  const { planned: p, training, growth } = options;
  const id = linkId({ category: p.f.name, task: p.g.name });
  if (isOwnLink(p)) {
    growth.links.push({ category: p.f.name, task: p.g.name });
    const metric = p.source.manifest.card.metrics[0];
    if (metric) growth.metrics[id] = { name: metric.name, value: metric.value };
    growth.outcomes.push({
      link: id,
      status: 'direct',
      ...(metric ? { metric: { name: metric.name, value: metric.value } } : {}),
    });
    return;
  }
  const resolution = teacherFor(p.g.task as TaskId, p.source);
  const samples = training.samples ?? 0;
  if (resolution.kind === 'none' && samples === 0) {
    growth.outcomes.push({
      link: id,
      status: 'skipped',
      reason: `${resolution.reason}; pass --samples N to learn it from annotated images`,
    });
    ctx.log?.(`${id}: skipped (${resolution.reason})`);
    return;
  }
  learnAdapter(ctx, { ...options, id, resolution, samples });
}

function learnAdapter(
  ctx: GenericContext,
  options: AddLinkOptions & { id: string; resolution: TeacherResolution; samples: number },
): void {
  const { planned: p, training, growth, id, resolution, samples } = options;
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
    adapterName: adapterName(options.generic, p.f.name, p.g.name),
    method,
    samples,
    adapterLayers: training.adapterLayers ?? 1,
    ...(training.probe ? { probe: training.probe } : {}),
    steps: training.steps ?? 300,
    seed: training.seed ?? 1,
    ...(training.calibration ? { calibration: training.calibration } : {}),
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
    ...(training.progress
      ? { progress: (step: number, loss: number) => training.progress!(id, step, loss) }
      : {}),
  });
  growth.adapters.push(learned.adapter);
  growth.links.push({ category: p.f.name, task: p.g.name, adapter: learned.adapter.name });
  growth.metrics[id] = learned.metric;
  const parameters = learned.adapter.built.layers.reduce((n, l) => n + l.countParams(), 0);
  growth.outcomes.push({
    link: id,
    status: 'learned',
    method,
    teacher: resolution.kind === 'none' ? 'none' : resolution.description,
    adapter: learned.adapter.name,
    adapterParameters: parameters,
    metric: learned.metric,
    annotatedImages: learned.annotatedImages,
    knownNegatives: NEGATIVES,
    ...(learned.calibration ? { calibration: learned.calibration } : {}),
  });
}

export interface AdapterPublication {
  readonly generic: string;
  /** The generic network's new version; the adapters get the same. */
  readonly version: string;
  /** The grown network (the adapters' category and task modules are pinned from it). */
  readonly network: Network;
  readonly growth: Growth;
  readonly training: LinkTraining;
  /** A killed run had begun this publication: adapters already there with these weights are adopted. */
  readonly resumed?: boolean;
}

/** Publishes every learned adapter, pinned to the exact category and task modules of its link. */
export async function publishAdapters(ctx: GenericContext, publication: AdapterPublication): Promise<void> {
  const { generic: name, version, network, growth, training } = publication;
  const pin = (m: ModuleInstance, kind: 'category' | 'task') => ({
    name: m.name,
    kind,
    range: m.published!.version,
    pinned: { version: m.published!.version, digest: m.published!.digest },
  });
  for (const adapter of growth.adapters) {
    const link = growth.links.find((l) => l.adapter === adapter.name)!;
    const metric = growth.metrics[linkId(link)];
    const outcome = growth.outcomes.find((o) => o.adapter === adapter.name)!;
    await publishModuleOnce(
      ctx.composer.registry,
      adapter,
      {
        version,
        generatedBy: ctx.generatedBy,
        provenance: {
          data: `generic ${name}: ${linkId(link)}`,
          seed: training.seed ?? 1,
          steps: training.steps ?? 300,
          backend: ctx.backend,
        },
        card: {
          summary: `adapter of ${name}@${version} on ${linkId(link)}; ${linkImages(outcome, training)}`,
          metrics: metric ? [{ ...metric, on: 'held-out' }] : [],
        },
        dependencies: [
          pin(network.module(link.category), 'category'),
          pin(network.module(link.task), 'task'),
        ],
      },
      publication.resumed === true,
    );
  }
}

/** A learned link's images in words (see `annotationLine`). */
export function linkImages(outcome: LinkOutcome, training: LinkTraining): string {
  return annotationLine(outcome.method!, training.samples ?? 0, outcome.calibration, NEGATIVES);
}

/** The images a change's learned links used, for the generic network's card. */
export function growthImages(outcomes: readonly LinkOutcome[]): string {
  const learned = outcomes.filter((o) => o.status === 'learned');
  const annotated = learned.reduce((n, o) => n + (o.annotatedImages ?? 0), 0);
  return `${learned.length} learned links, ${annotated} annotated images in all; ${NEGATIVES} negatives known by construction per link`;
}
