import * as tf from '@tensorflow/tfjs';
import {
  Network,
  addCounts,
  createModule,
  imageCounts,
  disposeModule,
  taskMetric,
  type Composer,
  type ModuleInstance,
  type PluginRegistry,
  type TaskCounts,
} from '@transplant/composer';
import { TASKS, TransplantError, sha256Digest, type RunFolder, type TaskId } from '@transplant/core';
import { isCategoryId, type CategoryId, type CategoryVsRest } from '@transplant/data';
import { annotatedImages, annotationLine, calibrateBridge } from './bridge-calibration';
import {
  linkOf,
  resolveTeacher,
  teacherFunction,
  type BridgeCalibration,
  type SpecificNetwork,
  type TeacherResolution,
} from './teacher';
import { publishAtFreeVersion, publishModuleOnce, publishNetworkOnce } from './publish-resumed';
import { trainAdapter } from './train-adapter';
import {
  DEFAULT_CALIBRATION,
  DEFAULT_MASK_PROBE,
  type CalibrationMode,
  type DistillMethod,
  type ProbeKind,
} from './training-defaults';
import { HELD_OUT, NEGATIVES, describeTransplantData, transplantData } from './transplant-data';

export interface TransplantOptions {
  readonly composer: Composer;
  readonly from: string;
  readonly to: string;
  readonly teacher?: string;
  readonly method: DistillMethod;
  readonly samples: number;
  readonly adapterLayers: 1 | 3;
  /** Default: identity when f's and g's channels agree (h starts as x); `he-normal` learns h from scratch. */
  readonly adapterInit?: 'identity' | 'he-normal';
  /** bd/kd with a mask output: the pseudo-label probe (default) or random Gaussian probes. */
  readonly probe?: ProbeKind;
  /** ol: class-balanced minibatches (see `TrainAdapterArgs.balanced`). */
  readonly balanced?: boolean;
  readonly steps: number;
  /** Also evaluate the link after these steps (ascending, each ≤ steps): the result's `curve`. */
  readonly evaluateAt?: readonly number[];
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed: number;
  /** How a seg → cls bridge is calibrated (default `label-free`: no class label is read). */
  readonly calibration?: CalibrationMode;
  /**
   * A final run (docs/protocol.md): the link is evaluated on the final-test split. Without it,
   * on the dev split, which is where every decision (method, steps, adapter) is made.
   */
  readonly final?: boolean;
  readonly generatedBy: string;
  readonly backend: string;
  readonly publish: boolean;
  readonly progress?: (step: number, loss: number) => void;
  /**
   * Where the run keeps what it needs to resume after a kill (the adapter's training state,
   * the version it publishes): rerun with the same folder and it continues to the result an
   * uninterrupted run gives. The caller removes the folder once the run has finished.
   */
  readonly run?: RunFolder;
}

export interface TransplantResult {
  readonly network: string;
  readonly version: string | undefined;
  readonly adapter: string;
  readonly student: { readonly category: string; readonly task: string; readonly taskId: TaskId };
  readonly teacher: string;
  readonly method: DistillMethod;
  readonly samples: number;
  /** Images whose labels or masks the run read: OL's samples plus a labelled calibration's images. */
  readonly annotatedImages: number;
  /** Negatives (other animals, backgrounds) whose absence of the category is known by construction. */
  readonly knownNegatives: number;
  /** How the outputs were probed for the gradients: ones (a score), random or pseudo-label (a mask); none for OL. */
  readonly probe: 'ones' | ProbeKind | 'none';
  readonly metric: { readonly name: string; readonly value: number };
  /** Where the metric was measured and each image's counts (an interval resamples them). */
  readonly evaluation: Evaluation;
  /** The metric after each of `evaluateAt`'s steps (empty without it). */
  readonly curve: LearnedLink['curve'];
  /** The same metric of the --to network's own link on the same held-out images, when it solves the same task. */
  readonly reference?: { readonly name: string; readonly value: number };
  /** Where `reference` was measured, with each image's counts. */
  readonly referenceEvaluation?: Evaluation;
  readonly losses: readonly number[];
  readonly stepMilliseconds: number;
  readonly wallSeconds: number;
  readonly data: string;
  readonly calibration?: BridgeCalibration;
}

/** Where a link was evaluated: the split (dev, or the final test of a final run) and each image's counts. */
export interface Evaluation {
  readonly split: 'dev' | 'test';
  readonly images: readonly TaskCounts[];
}

/**
 * The task's metric of the network's link on the held-out split (dev, or the final test when
 * the data was made for a final run), with each image's counts.
 */
function heldOut(subject: {
  readonly network: Network;
  readonly link: { category: string; task: string };
  readonly task: TaskId;
  readonly data: CategoryVsRest;
}): { metric: { name: string; value: number }; evaluation: Evaluation } {
  const { network, link, task: taskId, data } = subject;
  const split = data.options.finalTest ? 'test' : 'dev';
  const images: TaskCounts[] = [];
  const refs = data.heldOut(split, {
    positives: HELD_OUT.positives,
    negatives: TASKS[taskId].metricOn === 'all' ? HELD_OUT.negatives : 0,
  });
  for (let start = 0; start < refs.length; start += 50) {
    const batch = data.imagesAndTargets(refs.slice(start, start + 50), taskId);
    const logits = network.run(link.category, link.task, batch.images);
    images.push(...imageCounts(taskId, logits, batch.targets));
    tf.dispose([batch.images, batch.targets, logits]);
  }
  return {
    metric: taskMetric(taskId, images.reduce(addCounts, { a: 0, b: 0 })),
    evaluation: { split, images },
  };
}

/** Calibrates the seg → cls bridge (docs/calibration.md): label-free unless `labelled` is asked for. */
function calibrate(
  resolution: Extract<TeacherResolution, { kind: 'bridge' }>,
  category: ModuleInstance,
  data: CategoryVsRest,
  mode: CalibrationMode = DEFAULT_CALIBRATION,
): BridgeCalibration {
  return calibrateBridge({ category, head: resolution.head }, data, mode);
}

/** The training settings of `transplant`, with the modules and teacher already resolved. */
export interface LearnLinkOptions extends Pick<
  TransplantOptions,
  | 'method'
  | 'samples'
  | 'adapterLayers'
  | 'adapterInit'
  | 'probe'
  | 'balanced'
  | 'steps'
  | 'evaluateAt'
  | 'batchSize'
  | 'learningRate'
  | 'seed'
  | 'calibration'
  | 'final'
  | 'progress'
> {
  readonly plugins: PluginRegistry;
  /** The frozen category module (student input) and task module. */
  readonly f: ModuleInstance;
  readonly g: ModuleInstance;
  readonly resolution: TeacherResolution;
  /** The synthetic category whose images train and evaluate the link. */
  readonly category: CategoryId;
  readonly adapterName: string;
  /** Save the training state here every `every` steps, and resume from it (see `AdapterCheckpoint`). */
  readonly checkpoint?: LinkCheckpoint;
}

/** Where a long run keeps a link's training state; the fingerprint is derived from the link's inputs. */
export interface LinkCheckpoint {
  readonly directory: string;
  readonly every: number;
  readonly note?: (line: string) => void;
}

/** What a link's training depends on: a checkpoint made from other inputs is not resumed. */
function linkFingerprint(options: LearnLinkOptions): string {
  const { f, g, resolution } = options;
  const inputs = {
    f: f.published?.digest ?? f.name,
    g: g.published?.digest ?? g.name,
    teacher:
      resolution.kind === 'none'
        ? 'none'
        : {
            description: resolution.description,
            head: resolution.head.published?.digest ?? resolution.head.name,
          },
    adapter: options.adapterName,
    ...Object.fromEntries(
      (
        [
          'method',
          'samples',
          'adapterLayers',
          'adapterInit',
          'probe',
          'balanced',
          'steps',
          'batchSize',
          'learningRate',
          'seed',
          'calibration',
          'final',
        ] as const
      ).map((key) => [key, options[key] ?? null]),
    ),
    category: options.category,
    backend: tf.getBackend(),
  };
  return sha256Digest(new TextEncoder().encode(JSON.stringify(inputs)));
}

export interface LearnedLink {
  /** The new adapter (the caller disposes it, or the network it joins). */
  readonly adapter: ModuleInstance;
  /** f → adapter → g, sharing the modules' layers (dispose the modules, not this). */
  readonly network: Network;
  readonly data: CategoryVsRest;
  readonly metric: { readonly name: string; readonly value: number };
  readonly evaluation: Evaluation;
  /** The metric after each of `evaluateAt`'s steps. */
  readonly curve: readonly { readonly step: number; readonly metric: { name: string; value: number } }[];
  readonly calibration: BridgeCalibration | undefined;
  /** OL's samples plus the calibration's labelled images (see `annotatedImages`). */
  readonly annotatedImages: number;
  readonly probe: TransplantResult['probe'];
  readonly wallSeconds: number;
  readonly trained: { readonly losses: number[]; readonly stepMilliseconds: number };
}

/**
 * Learns one adapter between a frozen f and a frozen g with a resolved teacher (or OL on N
 * samples), and evaluates the link on held-out images: the core of `transplant` and of
 * adding a category or a task to a generic network.
 */
export function learnLink(options: LearnLinkOptions): LearnedLink {
  const { f, g, resolution } = options;
  const taskId = g.task!;
  if (options.method !== 'ol' && resolution.kind === 'none') {
    throw new TransplantError('E_TEACHER_MISSING', `${resolution.reason}; ${options.method} needs one`, {
      module: f.name,
      operation: 'transplant',
    });
  }
  if (options.method === 'ol' && options.samples === 0)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      'ordinary learning needs annotated samples: pass --samples N (N ≥ 1)',
      { operation: 'transplant' },
    );
  if (options.checkpoint && options.evaluateAt)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      'a checkpointed run does not record a learning curve: pass either evaluateAt or checkpoint',
      { operation: 'transplant' },
    );
  const data = transplantData({
    seed: options.seed,
    category: options.category,
    size: f.ports.input.shape[1]!,
    task: taskId,
    ...(options.final ? { finalTest: true } : {}),
  });
  const fPort = f.ports.output;
  const adapter = createModule(options.plugins, {
    name: options.adapterName,
    family: 'adapter-conv',
    options: {
      size: fPort.shape[1],
      channels: fPort.channels,
      stride: fPort.stride,
      outChannels: g.ports.input.channels,
      layers: options.adapterLayers,
      ...(options.adapterInit ? { init: options.adapterInit } : {}),
    },
    seed: options.seed,
  });
  try {
    const network = Network.create(
      [f, adapter, g],
      [{ category: f.name, task: g.name, adapter: adapter.name }],
    );
    const calibration =
      resolution.kind === 'bridge' ? calibrate(resolution, f, data, options.calibration) : undefined;
    const started = performance.now();
    const target = data.imagesAndTargets(data.positives('train', options.samples));
    const negatives = data.imagesAndTargets(data.negatives('train', NEGATIVES));
    const images = tf.concat([target.images, negatives.images]) as tf.Tensor4D;
    const targets = tf.concat([target.targets, negatives.targets]);
    const link = { category: f.name, task: g.name };
    const curve: { step: number; metric: { name: string; value: number } }[] = [];
    let trained;
    try {
      trained = trainAdapter({
        network,
        link: { category: f.name, adapter: adapter.name, task: g.name },
        method: options.method,
        ...(resolution.kind !== 'none' ? { teacher: teacherFunction(resolution, calibration) } : {}),
        unlabeled: images,
        labelled: { images, targets },
        steps: options.steps,
        batchSize: options.batchSize ?? 32,
        learningRate: options.learningRate ?? 1e-3,
        seed: options.seed,
        ...(options.probe ? { probe: options.probe } : {}),
        ...(options.balanced ? { balanced: true } : {}),
        ...(options.evaluateAt
          ? {
              checkpoints: {
                steps: options.evaluateAt,
                at: (step: number) =>
                  curve.push({ step, metric: heldOut({ network, link, task: taskId, data }).metric }),
              },
            }
          : {}),
        ...(options.progress ? { log: options.progress } : {}),
        ...(options.checkpoint
          ? { checkpoint: { ...options.checkpoint, fingerprint: linkFingerprint(options) } }
          : {}),
      });
    } finally {
      tf.dispose([target.images, target.targets, negatives.images, negatives.targets, images, targets]);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const probe =
      options.method === 'ol'
        ? 'none'
        : TASKS[taskId].probe === 'ones'
          ? 'ones'
          : (options.probe ?? DEFAULT_MASK_PROBE);
    const { metric, evaluation } = heldOut({ network, link, task: taskId, data });
    const annotated = annotatedImages(options.method, options.samples, calibration);
    return {
      adapter,
      network,
      data,
      metric,
      evaluation,
      curve,
      calibration,
      annotatedImages: annotated,
      probe,
      wallSeconds,
      trained,
    };
  } catch (error) {
    disposeModule(adapter);
    throw error;
  }
}

/**
 * `--from A --to B`: learns only an adapter between B's category module f and A's task module
 * g (both frozen, bit-identical afterwards), with a teacher on x = f(I) (docs/design.md §4), then
 * evaluates the new link on held-out images and (with `publish`) publishes the adapter and
 * the composition `<B category>-<A task>-via-<A category>` as a new version.
 */
export async function transplant(options: TransplantOptions): Promise<TransplantResult> {
  const load = async (ref: string): Promise<SpecificNetwork> => options.composer.load(ref);
  const from = await load(options.from);
  const to = await load(options.to);
  const named = options.teacher ? await load(options.teacher) : undefined;
  const student: ModuleInstance[] = [];
  try {
    const f = linkOf(to).category;
    const g = linkOf(from).task;
    const taskId = g.task!;
    const category = to.manifest.category ?? f.category;
    if (!category || !isCategoryId(category))
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `${options.to} names no synthetic category (${category}); transplant needs one to draw its images`,
        { operation: 'transplant' },
      );
    const resolution = resolveTeacher(from, to, named);
    const name = `${category}-${taskId}-via-${from.manifest.category ?? from.manifest.name}`;
    const learned = learnLink({
      ...options,
      plugins: options.composer.plugins,
      f,
      g,
      resolution,
      category,
      adapterName: `${name}-adapter`,
      ...(options.run
        ? {
            checkpoint: {
              directory: options.run.path('adapter'),
              every: options.run.every,
              note: options.run.note,
            },
          }
        : {}),
    });
    student.push(learned.adapter);
    const { adapter, network, data, metric, evaluation, curve, calibration, probe, wallSeconds, trained } =
      learned;
    const counted = annotationLine(options.method, options.samples, calibration, NEGATIVES);
    const own = linkOf(to);
    const referenced =
      own.task.task === taskId
        ? heldOut({
            network: to.network,
            link: { category: own.category.name, task: own.task.name },
            task: taskId,
            data,
          })
        : undefined;
    const reference = referenced?.metric;
    const teacher =
      resolution.kind === 'none' ? 'none (ordinary learning on annotated samples)' : resolution.description;
    let version: string | undefined;
    if (options.publish) {
      const registry = options.composer.registry;
      const pin = (m: ModuleInstance, kind: 'category' | 'task') => ({
        name: m.name,
        kind,
        range: m.published!.version,
        pinned: { version: m.published!.version, digest: m.published!.digest },
      });
      const meta = (version: string) => ({
        version,
        generatedBy: options.generatedBy,
        provenance: {
          data: describeTransplantData(data, options.samples),
          seed: options.seed,
          steps: options.steps,
          backend: options.backend,
          wallSeconds: Math.round(wallSeconds * 10) / 10,
        },
        card: {
          summary: `${options.method} adapter (${options.adapterLayers} conv+ReLU) from ${f.name} to ${g.name}; teacher: ${teacher}; ${counted}${probe === 'random' || probe === 'pseudo-label' ? `; ${probe} probes` : ''}`,
          metrics: [{ ...metric, on: describeTransplantData(data, options.samples) }],
        },
      });
      version = await publishAtFreeVersion(registry, {
        names: [adapter.name, name],
        run: options.run,
        publish: async (v, resumed) => {
          await publishModuleOnce(
            registry,
            adapter,
            { ...meta(v), dependencies: [pin(f, 'category'), pin(g, 'task')] },
            resumed,
          );
          await publishNetworkOnce(registry, network, { ...meta(v), name }, resumed);
        },
      });
    }
    return {
      network: name,
      version,
      adapter: adapter.name,
      student: { category: f.name, task: g.name, taskId },
      teacher,
      method: options.method,
      samples: options.samples,
      annotatedImages: learned.annotatedImages,
      knownNegatives: NEGATIVES,
      probe,
      metric,
      evaluation,
      curve,
      ...(referenced ? { reference, referenceEvaluation: referenced.evaluation } : {}),
      losses: trained.losses,
      stepMilliseconds: trained.stepMilliseconds,
      wallSeconds,
      data: describeTransplantData(data, options.samples),
      ...(calibration ? { calibration } : {}),
    };
  } finally {
    [
      ...student,
      ...from.network.modules.values(),
      ...to.network.modules.values(),
      ...(named ? named.network.modules.values() : []),
    ].forEach(disposeModule);
  }
}
