import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { Composer, createModule, disposeModule, taskLoss, type ModuleInstance } from '@transplant/composer';
import { AdamTrainer, TransplantError, constantRate, describeMachine, formatMachine } from '@transplant/core';
import { CatsAndDogsSplit, Rng, readCatsAndDogs, type PhotoClass } from '@transplant/data';
import { linkOf, trainAdapterOnFeatures, type DistillMethod } from '@transplant/distill';
import { FEATURE_SHAPE, featureTensor, splitFeatures, type SplitFeatures } from './real-transplant-features';
import { formatRealTransplant, outcomeGrid } from './real-transplant-format';
import { packOutcomes } from './stats';

/**
 * `nx run experiments:real-transplant` (docs/real-transplant.md): a zoo task module transplanted
 * onto a real backbone and scored on real photographs. f = CenterNet's backbone and feature
 * pyramid (COCO-trained, frozen); g = a zoo classifier's task module (trained on our synthetic
 * world, frozen); h = a fixed 16×16 average pool and 1 or 3 conv+ReLU layers, the only thing that
 * learns, with OL, KD or BD from N ∈ {100, 10, 0} photos of the target category. The teacher is a
 * classifier head trained on f's pooled features with the train split's labels (BD's ceiling).
 *
 * Three phases, as the paper table: `--tune` (the same grid for every method on dev, and the
 * teacher's steps), a plain run (the table on dev), `--final` (the final test, read once per
 * cell). Every finished cell is saved at once; a rerun skips it.
 */
export interface RealTransplantOptions {
  /** Comma-separated target categories: cat (vs dog), dog (vs cat). */
  readonly categories: string;
  /** Comma-separated adapter depths (1, 3). */
  readonly adapters: string;
  readonly samples: string;
  readonly methods: string;
  readonly seeds: string;
  readonly tune: boolean;
  /** Comma-separated step counts the grid evaluates (one run per setting, evaluated after each). */
  readonly tuneSteps: string;
  /** Comma-separated learning rates the grid tries for every method. */
  readonly tuneRates: string;
  /** Comma-separated step counts the teacher's training is evaluated at on dev. */
  readonly teacherSteps: string;
  readonly final: boolean;
  /** The zoo network whose task module is transplanted. */
  readonly donor: string;
  /**
   * `zoo`: the donor's trained task module; `random`: the same architecture freshly initialised
   * (seeded), the control that says how much of the result the zoo module's training carries.
   */
  readonly head: string;
  readonly registry: string;
  readonly results: string;
  /** Where the backbone's pooled features are cached (photo after photo, per split). */
  readonly cache: string;
}

/** The heads g can be: the donor's zoo module, or the freshly initialised control. */
export const REAL_TRANSPLANT_HEADS = ['zoo', 'random'] as const;

const experiments = fileURLToPath(new URL('..', import.meta.url));
export const REAL_TRANSPLANT_DEFAULTS: RealTransplantOptions = {
  categories: 'cat,dog',
  adapters: '1,3',
  samples: '100,10,0',
  methods: 'ol,bd,kd',
  seeds: '1,2,3',
  tune: false,
  tuneSteps: '300,1000,3000',
  tuneRates: '0.001,0.003',
  teacherSteps: '250,500,1000,2000,4000',
  final: false,
  donor: 'bird-cls',
  head: 'zoo',
  registry: EMBEDDED_REGISTRY,
  results: join(experiments, 'results'),
  cache: join(experiments, '.work', 'real-transplant'),
};

/** Unlabelled negatives BD and KD see (OL sees them labelled), as in the paper table. */
export const NEGATIVES = 200;
const BATCH = 32;
/** The heat-map probability at which CenterNet reports a detection. */
export const DETECTION_THRESHOLD = 0.3;
const TEACHER_RATE = 1e-3;
const TEACHER_SEED = 1;
const RANDOM_HEAD_SEED = 1;

export interface RealSettings {
  readonly steps: number;
  readonly learningRate: number;
}

export interface RealCell {
  readonly category: PhotoClass;
  readonly layers: 1 | 3;
  readonly samples: number;
  readonly method: DistillMethod;
  readonly seed: number;
  readonly settings: RealSettings;
  readonly error: number;
  readonly wrong: string;
  readonly images: number;
  readonly seconds: number;
}

export interface RealTeacher {
  readonly category: PhotoClass;
  readonly steps: number;
  readonly error: number;
  readonly wrong: string;
  readonly images: number;
}

/** CenterNet's own detector as a label-free teacher (the seg → cls bridge the issue proposed). */
export interface BridgeRow {
  readonly category: PhotoClass;
  /** "category present" when the heat map's peak probability ≥ 0.3 (CenterNet's detection threshold). */
  readonly detectorError: number;
  /** Each photo's detector outcome (1 = wrong), packed (stats.packOutcomes). */
  readonly wrong: string;
  /** Photos on which the detector fires, and the largest peak probability over all of them. */
  readonly detections: number;
  readonly maxPeak: number;
  /** How well the bridge's presence score ranks the photos (area under the ROC curve). */
  readonly auc: number;
  readonly images: number;
}

export interface RealTuningRun {
  readonly category: PhotoClass;
  readonly samples: number;
  readonly method: DistillMethod;
  readonly learningRate: number;
  readonly steps: readonly number[];
  readonly errors: readonly number[];
}

export interface RealTuningFile {
  readonly backend: string;
  readonly machine: string;
  readonly split: 'dev';
  teacherCurve: Partial<Record<PhotoClass, { steps: number[]; errors: number[] }>>;
  teacherSteps?: number;
  runs: RealTuningRun[];
  chosen: Partial<Record<DistillMethod, RealSettings>>;
}

export interface RealTransplantFile {
  readonly backend: string;
  readonly machine: string;
  readonly split: 'dev' | 'test';
  readonly donor: string;
  /** Which g: the zoo's module or the freshly initialised control (absent in older files: zoo). */
  head?: 'zoo' | 'random';
  teachers: RealTeacher[];
  bridge: BridgeRow[];
  cells: RealCell[];
}

export const realCellKey = (c: Pick<RealCell, 'category' | 'layers' | 'samples' | 'method' | 'seed'>) =>
  `${c.category}/conv${c.layers}/${c.samples}/${c.method}/seed${c.seed}`;

const list = (s: string) => String(s).split(',').filter(Boolean);
const numbers = (s: string) => list(s).map(Number);
const other = (c: PhotoClass): PhotoClass => (c === 'cat' ? 'dog' : 'cat');

async function writeAtomic(file: string, text: string | Buffer): Promise<void> {
  await writeFile(`${file}.partial`, text);
  await rename(`${file}.partial`, file);
}

/** 1 where the photo shows `category`, else 0. */
export function labelsOf(features: Pick<SplitFeatures, 'refs'>, category: PhotoClass): number[] {
  return features.refs.map((r) => (r.cls === category ? 1 : 0));
}

/**
 * The training photos of one cell: the first `samples` of a seeded permutation of the
 * category's train photos (so the 10 are among the 100), and `NEGATIVES` of the other class's.
 */
export function drawTraining(
  train: Pick<SplitFeatures, 'refs'>,
  category: PhotoClass,
  samples: number,
  seed: number,
): { positives: number[]; negatives: number[] } {
  const rng = new Rng(`real-transplant:${category}:${seed}`);
  const permuted = (cls: PhotoClass) => {
    const idx = train.refs.flatMap((r, i) => (r.cls === cls ? [i] : []));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx;
  };
  const positives = permuted(category);
  const negatives = permuted(other(category));
  if (samples > positives.length || NEGATIVES > negatives.length)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `a cell needs ${samples} ${category} and ${NEGATIVES} ${other(category)} training photos; the train split has ${positives.length} and ${negatives.length}`,
      { operation: 'realTransplant' },
    );
  return { positives: positives.slice(0, samples), negatives: negatives.slice(0, NEGATIVES) };
}

/** Each photo's outcome (1 = misclassified) for logits of "category present". */
export function outcomes(
  forward: (x: tf.Tensor4D) => tf.Tensor,
  features: SplitFeatures,
  labels: number[],
): number[] {
  const wrong: number[] = [];
  for (let start = 0; start < labels.length; start += 100) {
    const idx = Array.from({ length: Math.min(100, labels.length - start) }, (_, i) => start + i);
    const logits = tf.tidy(() => {
      const x = featureTensor(features, idx);
      return Array.from(forward(x).dataSync());
    });
    logits.forEach((l, i) => wrong.push(l > 0 === (labels[start + i] === 1) ? 0 : 1));
  }
  return wrong;
}

/** Area under the ROC curve of `scores` for binary `labels` (ties count half). */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number {
  let pairs = 0;
  let wins = 0;
  scores.forEach((s, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((t, j) => {
      if (labels[j] === 1) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return pairs === 0 ? NaN : wins / pairs;
}

/** The bridge row of a category: CenterNet's detector decision and its score's ranking, no training. */
export function bridgeRow(features: SplitFeatures, category: PhotoClass): BridgeRow {
  const bridge = features.bridge;
  if (!bridge)
    throw new TransplantError('E_INVALID_ARGUMENT', `the ${features.split} features carry no bridge scores`, {
      operation: 'realTransplant',
    });
  const labels = labelsOf(features, category);
  const wrong = bridge.peak[category].map((p, i): number =>
    (p >= DETECTION_THRESHOLD ? 1 : 0) === labels[i] ? 0 : 1,
  );
  return {
    category,
    detectorError: wrong.reduce((a, b) => a + b, 0) / wrong.length,
    wrong: packOutcomes(wrong),
    detections: bridge.peak[category].filter((p) => p >= DETECTION_THRESHOLD).length,
    maxPeak: Math.max(...bridge.peak[category]),
    auc: rocAuc(bridge.presence[category], labels),
    images: labels.length,
  };
}

/**
 * The teacher: a classifier head of the zoo's own architecture (task-cls: conv 64, dense 64, one
 * logit) on f's pooled features, trained with the labels of every train photo (cat vs dog);
 * evaluated on dev after each of `steps`.
 */
export function trainTeacher(options: {
  readonly plugins: Parameters<typeof createModule>[0];
  readonly category: PhotoClass;
  readonly train: SplitFeatures;
  readonly steps: readonly number[];
  readonly evaluate?: SplitFeatures;
  readonly progress?: (line: string) => void;
}): { teacher: ModuleInstance; errors: number[] } {
  const { category, train } = options;
  const teacher = createModule(options.plugins, {
    name: `centernet-${category}-teacher`,
    family: 'task-cls',
    options: {
      inputSize: FEATURE_SHAPE[0],
      inputChannels: FEATURE_SHAPE[2],
      inputStride: 64,
      convs: [64],
      hidden: 64,
      classes: 1,
    },
    seed: TEACHER_SEED,
  });
  const variables = teacher.built.layers.flatMap((l) =>
    l.trainableWeights.map((v) => v.read() as tf.Variable),
  );
  const trainer = new AdamTrainer(variables, constantRate(TEACHER_RATE));
  const labels = labelsOf(train, category);
  const rng = new Rng(`real-transplant-teacher:${category}`);
  const errors: number[] = [];
  const last = Math.max(...options.steps);
  try {
    for (let step = 0; step < last; step++) {
      const idx = Array.from({ length: BATCH }, () => rng.int(0, labels.length - 1));
      const x = featureTensor(train, idx);
      const y = tf.tensor1d(
        idx.map((i) => labels[i]!),
        'float32',
      );
      trainer.step(step, () => taskLoss('cls', teacher.model.apply(x, { training: true }) as tf.Tensor, y));
      tf.dispose([x, y]);
      if (options.evaluate && options.steps.includes(step + 1)) {
        const wrong = outcomes(
          (f) => teacher.model.predict(f) as tf.Tensor,
          options.evaluate,
          labelsOf(options.evaluate, category),
        );
        errors.push(wrong.reduce((a, b) => a + b, 0) / wrong.length);
        options.progress?.(
          `teacher ${category}: step ${step + 1}, ${options.evaluate.split} error ${(100 * errors.at(-1)!).toFixed(2)} %`,
        );
      }
    }
  } finally {
    trainer.dispose();
  }
  return { teacher, errors };
}

/** One cell: a new adapter trained by `method` on the cell's photos, evaluated on `evaluate` (after each of `at`). */
function runCell(options: {
  readonly plugins: Parameters<typeof createModule>[0];
  readonly g: ModuleInstance;
  readonly teacher: ModuleInstance;
  readonly train: SplitFeatures;
  readonly evaluate: SplitFeatures;
  readonly category: PhotoClass;
  readonly layers: 1 | 3;
  readonly samples: number;
  readonly method: DistillMethod;
  readonly seed: number;
  readonly learningRate: number;
  readonly at: readonly number[];
}): { wrong: number[][]; seconds: number } {
  const { g, teacher, train, category, samples, method, seed } = options;
  const adapter = createModule(options.plugins, {
    name: 'real-adapter',
    family: 'adapter-conv',
    options: {
      size: FEATURE_SHAPE[0],
      channels: FEATURE_SHAPE[2],
      stride: 64,
      outChannels: g.ports.input.channels,
      layers: options.layers,
      init: 'he-normal',
    },
    seed,
  });
  const { positives, negatives } = drawTraining(train, category, samples, seed);
  const x = featureTensor(train, [...positives, ...negatives]);
  const y = tf.tensor1d([...positives.map(() => 1), ...negatives.map(() => 0)], 'float32');
  const labels = labelsOf(options.evaluate, category);
  const student = (f: tf.Tensor4D) => g.model.predict(adapter.model.predict(f) as tf.Tensor) as tf.Tensor;
  const wrong: number[][] = [];
  const started = performance.now();
  try {
    trainAdapterOnFeatures({
      adapter,
      task: g,
      method,
      teacher: (f) => teacher.model.apply(f) as tf.Tensor,
      unlabeled: x,
      labelled: { images: x, targets: y },
      steps: Math.max(...options.at),
      batchSize: BATCH,
      learningRate: options.learningRate,
      seed,
      balanced: method === 'ol',
      checkpoints: {
        steps: options.at,
        at: () => wrong.push(outcomes(student, options.evaluate, labels)),
      },
    });
  } finally {
    tf.dispose([x, y]);
    disposeModule(adapter);
  }
  return { wrong, seconds: (performance.now() - started) / 1000 };
}

/** The grid's choice per method: lowest mean dev error over categories and sample counts; ties → fewer steps, lower rate. */
export function chooseRealSettings(runs: readonly RealTuningRun[]): RealTuningFile['chosen'] {
  const chosen: RealTuningFile['chosen'] = {};
  for (const method of [...new Set(runs.map((r) => r.method))]) {
    const mine = runs.filter((r) => r.method === method);
    const candidates: { settings: RealSettings; error: number }[] = [];
    for (const learningRate of [...new Set(mine.map((r) => r.learningRate))]) {
      const same = mine.filter((r) => r.learningRate === learningRate);
      same[0]!.steps.forEach((steps, i) =>
        candidates.push({
          settings: { steps, learningRate },
          error: same.reduce((a, r) => a + r.errors[i]!, 0) / same.length,
        }),
      );
    }
    candidates.sort(
      (a, b) =>
        a.error - b.error ||
        a.settings.steps - b.settings.steps ||
        a.settings.learningRate - b.settings.learningRate,
    );
    chosen[method] = candidates[0]!.settings;
  }
  return chosen;
}

export async function runRealTransplant(options: Partial<RealTransplantOptions> = {}): Promise<void> {
  const values = { ...REAL_TRANSPLANT_DEFAULTS, ...options };
  if (values.tune && values.final)
    throw new TransplantError('E_INVALID_ARGUMENT', '--tune and --final are two phases: pass one of them', {
      operation: 'real-transplant',
    });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({ env: process.env });
  const machine = formatMachine(describeMachine());
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const photos = new CatsAndDogsSplit(await readCatsAndDogs(), { finalTest: values.final });
  const features = (split: 'train' | 'dev' | 'test') =>
    splitFeatures({ root, dir: values.cache, photos, split, bridge: split !== 'train', progress: log });
  const train = await features('train');
  const dev = await features('dev');
  const registry = await platform.openRegistry(values.registry);
  const donor = await new Composer(registry, platform.plugins).load(values.donor);
  const zooHead = linkOf(donor).task;
  if (!(REAL_TRANSPLANT_HEADS as readonly string[]).includes(values.head))
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `--head ${values.head}: ${REAL_TRANSPLANT_HEADS.join(' or ')}`,
      {
        operation: 'real-transplant',
      },
    );
  const random = values.head === 'random';
  const g = random
    ? createModule(platform.plugins, {
        name: `${zooHead.name}-random`,
        family: zooHead.plugin.family,
        options: zooHead.options,
        seed: RANDOM_HEAD_SEED,
      })
    : zooHead;
  const donorName = random
    ? `a freshly initialised ${zooHead.plugin.family} module of ${zooHead.name}'s architecture (seed ${RANDOM_HEAD_SEED}; the control)`
    : `${donor.manifest.name}@${donor.manifest.version} (task module ${g.name})`;
  const categories = list(values.categories) as PhotoClass[];
  await mkdir(values.results, { recursive: true });
  const tuningFile = join(values.results, 'real-transplant-tuning.json');
  try {
    if (values.tune) {
      const saved: RealTuningFile = await readFile(tuningFile, 'utf8').then(
        (t) => JSON.parse(t) as RealTuningFile,
        () => ({ backend: selection.id, machine, split: 'dev', teacherCurve: {}, runs: [], chosen: {} }),
      );
      const teacherSteps = numbers(values.teacherSteps).sort((a, b) => a - b);
      for (const category of categories) {
        if (saved.teacherCurve[category]) continue;
        const { teacher, errors } = trainTeacher({
          plugins: platform.plugins,
          category,
          train,
          steps: teacherSteps,
          evaluate: dev,
          progress: log,
        });
        disposeModule(teacher);
        saved.teacherCurve[category] = { steps: teacherSteps, errors };
        await writeAtomic(tuningFile, `${JSON.stringify(saved, null, 2)}\n`);
      }
      saved.teacherSteps = chooseTeacherSteps(saved.teacherCurve);
      const steps = numbers(values.tuneSteps).sort((a, b) => a - b);
      const key = (r: Pick<RealTuningRun, 'category' | 'samples' | 'method' | 'learningRate'>) =>
        `${r.category}/${r.samples}/${r.method}/lr${r.learningRate}`;
      const done = new Set(saved.runs.map(key));
      for (const category of categories) {
        const { teacher } = trainTeacher({
          plugins: platform.plugins,
          category,
          train,
          steps: [saved.teacherSteps],
        });
        try {
          for (const samples of numbers(values.samples))
            for (const method of list(values.methods) as DistillMethod[])
              for (const learningRate of numbers(values.tuneRates)) {
                const spec = { category, samples, method, learningRate };
                if ((method === 'ol' && samples === 0) || done.has(key(spec))) continue;
                const r = runCell({
                  plugins: platform.plugins,
                  g,
                  teacher,
                  train,
                  evaluate: dev,
                  category,
                  layers: 1,
                  samples,
                  method,
                  seed: 1,
                  learningRate,
                  at: steps,
                });
                const errors = r.wrong.map((w) => w.reduce((a, b) => a + b, 0) / w.length);
                log(
                  `tune ${key(spec)}: dev error ${errors.map((e) => (100 * e).toFixed(1)).join(' / ')} % at ${steps.join(' / ')} steps (${r.seconds.toFixed(0)} s)`,
                );
                saved.runs.push({ ...spec, steps, errors });
                done.add(key(spec));
                saved.chosen = chooseRealSettings(saved.runs);
                await writeAtomic(tuningFile, `${JSON.stringify(saved, null, 2)}\n`);
              }
        } finally {
          disposeModule(teacher);
        }
      }
      saved.chosen = chooseRealSettings(saved.runs);
      await writeAtomic(tuningFile, `${JSON.stringify(saved, null, 2)}\n`);
      return;
    }

    const tuning: RealTuningFile = await readFile(tuningFile, 'utf8').then(
      (t) => JSON.parse(t) as RealTuningFile,
      () => {
        throw new TransplantError(
          'E_INVALID_ARGUMENT',
          `no tuned settings at ${tuningFile}: run the grid on dev first (nx run experiments:real-transplant --tune)`,
          { operation: 'real-transplant' },
        );
      },
    );
    if (tuning.teacherSteps === undefined)
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `${tuningFile} has no teacher steps: finish --tune first`,
        {
          operation: 'real-transplant',
        },
      );
    const split = values.final ? 'test' : 'dev';
    const evaluate = values.final ? await features('test') : dev;
    const base = `real-transplant${random ? '-random-head' : ''}${values.final ? '' : '-dev'}`;
    const file = join(values.results, `${base}.json`);
    const saved: RealTransplantFile = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as RealTransplantFile,
      () => ({
        backend: selection.id,
        machine,
        split,
        donor: donorName,
        teachers: [],
        bridge: [],
        cells: [],
      }),
    );
    saved.head = random ? 'random' : 'zoo';
    const stale = saved.cells.filter((c) => {
      const want = tuning.chosen[c.method];
      return !(want && want.steps === c.settings.steps && want.learningRate === c.settings.learningRate);
    });
    if (stale.length > 0 && values.final)
      throw new TransplantError(
        'E_PROTOCOL',
        `${file} holds ${stale.length} final-test cell(s) computed with other settings than ${tuningFile} now chooses (${stale
          .slice(0, 3)
          .map(realCellKey)
          .join(
            ', ',
          )}): the final test is read once. Restore the tuning that made them, or move the file away deliberately to read the final test again`,
        { operation: 'real-transplant' },
      );
    stale.forEach((c) => log(`${realCellKey(c)}: stale (settings changed), computed again`));
    saved.cells = saved.cells.filter((c) => !stale.includes(c));
    const done = new Set(saved.cells.map(realCellKey));
    for (const category of categories) {
      const { teacher } = trainTeacher({
        plugins: platform.plugins,
        category,
        train,
        steps: [tuning.teacherSteps],
      });
      try {
        if (!saved.teachers.some((t) => t.category === category && t.steps === tuning.teacherSteps)) {
          const wrong = outcomes(
            (f) => teacher.model.predict(f) as tf.Tensor,
            evaluate,
            labelsOf(evaluate, category),
          );
          saved.teachers = saved.teachers.filter((t) => t.category !== category);
          saved.teachers.push({
            category,
            steps: tuning.teacherSteps,
            error: wrong.reduce((a, b) => a + b, 0) / wrong.length,
            wrong: packOutcomes(wrong),
            images: wrong.length,
          });
        }
        // A fixed rule on cached scores, no training: recomputed on every run.
        saved.bridge = [
          ...saved.bridge.filter((b) => b.category !== category),
          bridgeRow(evaluate, category),
        ];
        for (const seed of numbers(values.seeds))
          for (const layers of numbers(values.adapters) as (1 | 3)[])
            for (const samples of numbers(values.samples))
              for (const method of list(values.methods) as DistillMethod[]) {
                const cell = { category, layers, samples, method, seed };
                if ((method === 'ol' && samples === 0) || done.has(realCellKey(cell))) continue;
                const settings = tuning.chosen[method];
                if (!settings)
                  throw new TransplantError(
                    'E_INVALID_ARGUMENT',
                    `the grid chose no settings for ${method}: run --tune with that method`,
                    { operation: 'real-transplant' },
                  );
                const r = runCell({
                  plugins: platform.plugins,
                  g,
                  teacher,
                  train,
                  evaluate,
                  ...cell,
                  learningRate: settings.learningRate,
                  at: [settings.steps],
                });
                const wrong = r.wrong[0]!;
                const error = wrong.reduce((a, b) => a + b, 0) / wrong.length;
                log(
                  `${realCellKey(cell)}: ${split} error ${(100 * error).toFixed(2)} % (${r.seconds.toFixed(0)} s)`,
                );
                saved.cells.push({
                  ...cell,
                  settings,
                  error,
                  wrong: packOutcomes(wrong),
                  images: wrong.length,
                  seconds: r.seconds,
                });
                done.add(realCellKey(cell));
                await writeAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
              }
      } finally {
        disposeModule(teacher);
      }
    }
    await writeAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
    // The picture shows the main run's subjects (teacher, BD 0, OL 10); the control has no picture.
    const picture = random ? undefined : `${base}.png`;
    if (picture) await writeAtomic(join(values.results, picture), await outcomeGrid(photos, evaluate, saved));
    const control = random
      ? undefined
      : await readFile(
          join(values.results, `real-transplant-random-head${values.final ? '' : '-dev'}.json`),
          'utf8',
        ).then(
          (t) => JSON.parse(t) as RealTransplantFile,
          () => undefined,
        );
    const text = formatRealTransplant(saved, tuning, {
      categories,
      samples: numbers(values.samples),
      ...(picture ? { picture } : {}),
      ...(control ? { control } : {}),
    });
    await writeAtomic(join(values.results, `${base}.md`), text);
    process.stdout.write(`${text}\n`);
  } finally {
    if (random) disposeModule(g);
    donor.network.dispose();
  }
}

/** The teacher's steps: the lowest mean dev error over the categories; ties → fewer steps. */
export function chooseTeacherSteps(curves: RealTuningFile['teacherCurve']): number {
  const all = Object.values(curves).filter(
    (c): c is { steps: number[]; errors: number[] } => c !== undefined,
  );
  if (all.length === 0)
    throw new TransplantError('E_INVALID_ARGUMENT', 'no teacher curve to choose from', {
      operation: 'real-transplant',
    });
  const steps = all[0]!.steps;
  const mean = steps.map((_, i) => all.reduce((a, c) => a + c.errors[i]!, 0) / all.length);
  let best = 0;
  mean.forEach((m, i) => {
    if (m < mean[best]!) best = i;
  });
  return steps[best]!;
}
