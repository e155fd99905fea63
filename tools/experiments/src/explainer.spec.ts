import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { testPlugins } from '@transplant/platform/testing';
import { schemaViolations, type ExecutorSchema } from '@transplant/nx-plugin';
import { selectBackend } from '@transplant/core';
import { SyntheticSet } from '@transplant/data';
import {
  Explainer,
  explain,
  featurePool,
  fidelity,
  imageTensor,
  performerOf,
  randomiseUpperLayers,
  trainExplainer,
  TRAINING_DEFAULTS,
} from '@transplant/explainer';
import { INTERPRETABLE_DEFAULTS, buildExperimentNetwork, networkModules } from '@transplant/interpretable';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPLAINER_DEFAULTS } from './explainer';
import { seedStats, summarise, type ExplainerRun } from './explainer-runs';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

describe('explainer of a performer network', () => {
  it('cuts the performer, learns from its features, accounts for every share, and measures fidelity, without leaking tensors', () => {
    const network = buildExperimentNetwork(testPlugins(), 'p', {
      ...INTERPRETABLE_DEFAULTS,
      imageSize: 16,
      blocks: [[4], [8]],
      categories: ['cat'],
      mask: 'none',
    });
    const names = networkModules('p');
    const performer = performerOf(network, { category: names.category, task: names.task });
    expect(performer).toMatchObject({ split: 'conv1', xShape: [8, 8, 8], yShape: [8, 8, 64] });
    expect(performer.geometry).toMatchObject({ scale: 2, mapSize: [8, 8] });
    expect(() =>
      performerOf(network, { category: names.category, task: names.task }, { split: 'nope' }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('no layer "nope"'),
      }),
    );
    // Cutting and re-joining gives the performer's own logits.
    const set = new SyntheticSet({
      seed: 'explainer-spec',
      size: 16,
      categories: ['cat'],
      perCategory: { train: 8, dev: 0, test: 4 },
      negatives: { train: 4, dev: 0, test: 4 },
      rivers: { cat: true },
    });
    const samples = set.items('train').map((r) => set.render(r));
    tf.tidy(() => {
      const images = imageTensor(samples.slice(0, 3));
      const whole = network.run(names.category, names.task, images).dataSync();
      const cut = performer.upper(performer.higher(performer.features(images))).dataSync();
      for (let i = 0; i < 3; i++) expect(cut[i]).toBeCloseTo(whole[i]!, 5);
    });

    const before = tf.memory().numTensors;
    const pool = featurePool(performer, (a, b) => imageTensor(samples.slice(a, b)), samples.length);
    expect(pool.x.shape).toEqual([12, 8, 8, 8]);
    const ex = new Explainer(performer.xShape, performer.yShape, {
      filters: 6,
      mask: 'argmax',
      seed: 1,
      p0: 0.5,
    });
    trainExplainer({ explainer: ex, pool }, { ...TRAINING_DEFAULTS, steps: 4, batchSize: 4 });
    const test = set.items('test').map((r) => set.render(r));
    const explanation = explain({ performer, explainer: ex }, { samples: test, topN: 3, p: 0.25 });
    const accuracy = fidelity(
      { performer, explainer: ex },
      { samples: test, labels: test.map((s) => (s.annotation.category === 'cat' ? 1 : 0)) },
    );
    tf.dispose([pool.x, pool.y, pool.logits!]);
    ex.dispose();
    expect(tf.memory().numTensors).toBe(before);

    expect(explanation.filters).toHaveLength(6);
    expect(explanation.images).toHaveLength(8);
    expect(explanation.p).toBe(0.25);
    const interpretable = explanation.groups.reduce((s, g) => s + g.ofInterpretable, 0);
    if (explanation.interpretableShare > 0) expect(interpretable).toBeCloseTo(1, 6);
    // Measured shares: the groups carry the interpretable track's share of Σ|decoder terms| (not
    // p × anything), and with the ordinary track's they make 1.
    const groupsShare = explanation.groups.reduce((s, g) => s + g.share, 0);
    expect(groupsShare).toBeCloseTo(explanation.interpretableShare, 6);
    expect(groupsShare + explanation.ordinaryShare).toBeCloseTo(1, 5);
    expect(explanation.ordinaryShare).toBeGreaterThan(0);
    for (const g of explanation.groups)
      expect(g.share).toBeCloseTo(g.ofInterpretable * explanation.interpretableShare, 6);
    for (const f of explanation.filters)
      expect([
        'head',
        'neck',
        'torso',
        'front-legs',
        'hind-legs',
        'tail',
        'ears',
        'horns',
        'beak',
        'wings',
        'river',
        'background',
        'silent',
      ]).toContain(f.group);
    // Fidelity counts right calls over the 8 images.
    expect(Number.isInteger(accuracy.performer * 8)).toBe(true);
    expect(Number.isInteger(accuracy.explained * 8)).toBe(true);
    network.dispose();
  });

  it('randomises exactly the upper layers: the x layer and the task module, reproducibly per seed', () => {
    const build = () =>
      buildExperimentNetwork(testPlugins(), 'r', {
        ...INTERPRETABLE_DEFAULTS,
        imageSize: 16,
        blocks: [[4], [8]],
        categories: ['cat'],
        mask: 'none',
      });
    const names = networkModules('r');
    const link = { category: names.category, task: names.task };
    const weights = (n: ReturnType<typeof build>) =>
      Object.fromEntries(
        [names.category, names.task].flatMap((m) =>
          n
            .module(m)
            .model.layers.filter((l) => l.getWeights().length > 0)
            .map((l) => [l.name, l.getWeights().map((w) => Array.from(w.dataSync()))]),
        ),
      );
    const trained = build();
    const before = weights(trained);
    const shuffled = build();
    const count = tf.memory().numTensors;
    const changed = randomiseUpperLayers(shuffled, link, { mode: 'shuffle', seed: 1 });
    expect(tf.memory().numTensors).toBe(count);
    expect(changed).toEqual([
      `${names.category}__block2_conv1`,
      `${names.task}__conv1`,
      `${names.task}__hidden`,
      `${names.task}__logits`,
    ]);
    const after = weights(shuffled);
    for (const [layer, values] of Object.entries(before)) {
      if (changed.includes(layer)) {
        expect(after[layer]).not.toEqual(values);
        // A permutation: the same values in other places.
        for (let j = 0; j < values.length; j++)
          expect([...after[layer]![j]!].sort((a, b) => a - b)).toEqual([...values[j]!].sort((a, b) => a - b));
      } else expect(after[layer]).toEqual(values);
    }
    const again = build();
    randomiseUpperLayers(again, link, { mode: 'shuffle', seed: 1 });
    expect(weights(again)).toEqual(after);
    const reinit = build();
    randomiseUpperLayers(reinit, link, { mode: 'reinit', seed: 1 });
    const fresh = weights(reinit);
    expect(fresh[`${names.task}__conv1`]![0]).not.toEqual(before[`${names.task}__conv1`]![0]);
    expect(fresh[`${names.task}__conv1`]![1]!.every((b) => b === 0)).toBe(true);
    expect(fresh[`${names.category}__block1_conv1`]).toEqual(before[`${names.category}__block1_conv1`]);
    for (const n of [trained, shuffled, again, reinit]) n.dispose();
  });
});

describe('the explainer experiment', () => {
  it('has a schema that matches its options and defaults', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const schema = JSON.parse(
      await readFile(new URL('./executors/explainer/schema.json', import.meta.url), 'utf8'),
    ) as ExecutorSchema;
    expect(schemaViolations(schema, EXPLAINER_DEFAULTS as unknown as Record<string, unknown>, root)).toEqual(
      [],
    );
  });

  it('summarises seeds with a t interval and says whether a paired difference is separated from 0', () => {
    const s = seedStats([0.5, 0.6, 0.7]);
    expect(s.mean).toBeCloseTo(0.6, 12);
    expect(s.sd).toBeCloseTo(0.1, 12);
    // t(0.975, 2) = 4.303: half-width 4.303 · 0.1 / √3.
    expect(s.high - s.mean).toBeCloseTo((4.3027 * 0.1) / Math.sqrt(3), 4);
    const run = (key: string, kind: ExplainerRun['performer']['kind'], seed: number, p: number) =>
      ({
        performer: {
          key,
          reference: key,
          category: 'cat',
          kind,
          ...(kind === 'randomised' ? { randomised: 'shuffle' } : {}),
        },
        seed,
        p,
        steps: 300,
        converged: true,
        errors: { both: 0.1, interpretable: 0.2, ordinary: 0.3, neither: 1 },
        interpretableShare: 0.2,
        fidelity: { performer: 0.9, explained: 0.8 },
      }) as unknown as ExplainerRun;
    const runs = [
      ...[1, 2, 3].map((seed, i) => run('zoo-cat', 'trained', seed, [0.5, 0.55, 0.52][i]!)),
      ...[1, 2, 3].map((seed, i) => run('zoo-cat-shuffle', 'randomised', seed, [0.2, 0.22, 0.21][i]!)),
      ...[1, 2, 3].map((seed, i) =>
        run('twin-cat-interpretable', 'interpretable', seed, [0.3, 0.5, 0.4][i]!),
      ),
      ...[1, 2, 3].map((seed, i) => run('twin-cat-ordinary', 'ordinary', seed, [0.35, 0.45, 0.42][i]!)),
    ];
    const { performers, comparisons } = summarise(runs);
    expect(performers.map((p) => [p.performer.key, p.p.n])).toEqual([
      ['zoo-cat', 3],
      ['zoo-cat-shuffle', 3],
      ['twin-cat-interpretable', 3],
      ['twin-cat-ordinary', 3],
    ]);
    expect(comparisons.map((c) => [c.a, c.b, c.separated])).toEqual([
      ['zoo-cat', 'zoo-cat-shuffle', true],
      ['twin-cat-interpretable', 'twin-cat-ordinary', false],
    ]);
    expect(comparisons[0]!.difference.mean).toBeCloseTo(0.94 / 3, 9);
  });
});
