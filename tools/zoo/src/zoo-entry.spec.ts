import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugins } from '@transplant/platform/testing';
import { Composer } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { evaluateSpecific } from './train-specific';
import { zooData } from './zoo-data';
import { trainZooNetwork } from './zoo-entry';
import { PLANS, moduleNames } from './zoo-spec';

describe('a zoo network trained with recipe 1.1.0 (batch normalisation)', () => {
  let root: string;
  beforeAll(async () => {
    // The zoo's full-size network evaluates 1000 images here: wasm does that in seconds, cpu in minutes.
    await selectBackend({ requested: 'wasm', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-zoo-entry-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('publishes the plain category module (BN folded) whose network reproduces the reported metrics, and frees its tensors', async () => {
    const registry = new Registry(new FolderStore(join(root, 'registry')));
    const plugins = testPlugins();
    const plan = { ...PLANS.cls, steps: 3, maxSteps: 3, batchSize: 8, checkpointEvery: 10 };
    const start = tf.memory().numTensors;
    const lines: string[] = [];
    const result = await trainZooNetwork({
      category: 'cow',
      task: 'cls',
      plan,
      seed: 5,
      version: '1.1.0',
      batchNorm: true,
      // A recipe's own conv widths (as 1.2.0 has) reach the published module; the port stays 8×8×64.
      blocks: [[8], [8], [8, 8], [64]],
      registry,
      plugins,
      backend: 'wasm',
      generatedBy: 'transplant/0.1.0',
      checkpointDir: join(root, 'work'),
      log: (l) => lines.push(l),
    });
    expect(tf.memory().numTensors).toBe(start);
    expect(lines).toContain("folded batch normalisation into the category module's convs");
    expect(result.version).toBe('1.1.0');

    const names = moduleNames('cow', 'cls');
    const { manifest } = await registry.manifest(`${names.category}@1.1.0`);
    expect(manifest.options).toMatchObject({ batchNorm: false, blocks: [[8], [8], [8, 8], [64]] });
    // Three steps cannot meet the val goal: the card says the run ended at the step cap.
    expect(manifest.card?.summary).toMatch(/, 3 steps \(the step cap: val error-rate 0\.\d{4}\)$/);
    expect(Object.keys((await registry.fetch(`${names.category}@1.1.0`)).manifest.weights)).toContain(
      'digest',
    );

    // The published network, loaded back, scores exactly what the card says: the fold happened before evaluating.
    const { network } = await new Composer(registry, plugins).load('cow-cls@1.1.0');
    const metrics = evaluateSpecific(
      { network, link: names },
      { task: 'cls', data: zooData({ seed: 5, category: 'cow', task: 'cls' }) },
    );
    expect(metrics).toEqual(result.metrics);
    network.dispose();
    expect(tf.memory().numTensors).toBe(start);
  }, 180_000);
});
