import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugins } from '@transplant/platform/testing';
import { Network, createModule } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { disposeBatch } from '@transplant/data';
import { evaluateSpecific, learningRateAt, trainSpecific } from './train-specific';
import { heldOutCounts, zooData } from './zoo-data';
import { PLANS, RECIPES } from './zoo-spec';

const plan = { ...PLANS.cls, steps: 4, maxSteps: 4, batchSize: 4, checkpointEvery: 2, decayAt: 0.5 };

function tinyNetwork(): Network {
  const plugins = testPlugins();
  const category = createModule(plugins, {
    name: 'cat-cls-features',
    family: 'category-vgg',
    options: { inputSize: 64, blocks: [[2], [2], [2], [4]], batchNorm: true },
    seed: 1,
    category: 'cat',
  });
  const task = createModule(plugins, {
    name: 'cat-cls-head',
    family: 'task-cls',
    options: { inputSize: 8, inputChannels: 4, inputStride: 8, convs: [], hidden: 4 },
    seed: 2,
  });
  return Network.create([category, task], [{ category: category.name, task: task.name }]);
}

const weightsOf = (network: Network) =>
  [...network.modules.values()].flatMap((m) =>
    m.built.layers.flatMap((l) => l.weights.map((w) => Array.from(w.read().dataSync()))),
  );
const link = { category: 'cat-cls-features', task: 'cat-cls-head' };

describe('zoo training', () => {
  let root: string;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-zoo-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('resumes a killed run from its checkpoint to the same weights and BN statistics as an uninterrupted run, and frees its tensors', async () => {
    const data = zooData({ seed: 3, category: 'cat', task: 'cls' });
    const start = tf.memory().numTensors;
    const straight = tinyNetwork();
    await trainSpecific({
      network: straight,
      link,
      task: 'cls',
      data,
      plan,
      checkpointDir: join(root, 'straight'),
      log: () => undefined,
      progressEvery: 1,
    });
    const expected = weightsOf(straight);
    straight.dispose();
    expect(tf.memory().numTensors).toBe(start);

    const killed = tinyNetwork();
    const kill = (line: string) => {
      if (line.startsWith('step 3/')) throw new Error('killed');
    };
    await expect(
      trainSpecific({
        network: killed,
        link,
        task: 'cls',
        data,
        plan,
        checkpointDir: join(root, 'resumed'),
        log: kill,
        progressEvery: 1,
      }),
    ).rejects.toThrow('killed');
    killed.dispose();
    expect(
      (await readdir(join(root, 'resumed'))).filter((f) => /^checkpoint\.[0-9a-f]{16}\.bin$/.test(f)).length,
    ).toBe(1);

    const resumed = tinyNetwork();
    const lines: string[] = [];
    await trainSpecific({
      network: resumed,
      link,
      task: 'cls',
      data,
      plan,
      checkpointDir: join(root, 'resumed'),
      log: (l) => lines.push(l),
      progressEvery: 1,
    });
    expect(lines[0]).toBe('resuming at step 2 (checks from step 4, at most 4)');
    expect(weightsOf(resumed)).toEqual(expected);
    const metrics = evaluateSpecific(
      { network: resumed, link },
      { task: 'cls', data: zooData({ seed: 3, category: 'cat', task: 'cls' }) },
    );
    expect(metrics[0]!.name).toBe('error-rate');
    // The error is the share of dev images whose logit falls on the wrong side of 0, counted here apart.
    const devData = zooData({ seed: 3, category: 'cat', task: 'cls' });
    const refs = devData.heldOut('dev', heldOutCounts('dev'));
    const batch = devData.batch(refs);
    const logits = resumed.run(link.category, link.task, batch.images);
    const predicted = Array.from(logits.dataSync()).map((l) => (l > 0 ? 1 : 0));
    const wrong = refs.filter((r, i) => predicted[i] !== (r.category === 'cat' ? 1 : 0)).length;
    logits.dispose();
    disposeBatch(batch);
    expect(metrics[0]!.value).toBe(wrong / refs.length);
    resumed.dispose();
  }, 120_000);
});

describe('the zoo learning-rate schedule', () => {
  it('decays once at 70 % of the minimum steps (1.0.0) and again at half and three quarters of the cap (1.1.0)', () => {
    const plain = { ...PLANS.cls, laterDecays: RECIPES['1.0.0'].laterDecays };
    const bn = { ...PLANS.cls, laterDecays: RECIPES['1.1.0'].laterDecays };
    expect([0, 1399, 1400, 7999].map((s) => learningRateAt(plain, s))).toEqual([
      1e-3,
      1e-3,
      1e-3 * 0.3,
      1e-3 * 0.3,
    ]);
    const at = (s: number) => learningRateAt(bn, s);
    expect(at(1399)).toBe(1e-3);
    expect(at(3999)).toBeCloseTo(3e-4, 12);
    expect(at(4000)).toBeCloseTo(9e-5, 12);
    expect(at(6000)).toBeCloseTo(2.7e-5, 12);
  });
});
