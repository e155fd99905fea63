import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Composer } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { SyntheticSet } from '@transplant/data';
import { transplant } from '@transplant/distill';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import { publishTinyZoo } from './testing/tiny-zoo';

let dir = '';
let composer: Composer;
const rendered: string[] = [];

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-protocol-'));
  await publishTinyZoo(join(dir, 'registry'));
  composer = new Composer(new Registry(new FolderStore(join(dir, 'registry'))), testPlugins());
  const render = SyntheticSet.prototype.render;
  vi.spyOn(SyntheticSet.prototype, 'render').mockImplementation(function (this: SyntheticSet, ref) {
    rendered.push(ref.seed);
    return render.call(this, ref);
  });
});
afterEach(() => {
  rendered.length = 0;
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const run = (final: boolean) =>
  transplant({
    composer,
    from: 'dog-cls',
    to: 'cat-cls',
    method: 'ol',
    samples: 4,
    adapterLayers: 1,
    balanced: true,
    steps: 2,
    evaluateAt: [1],
    seed: 1,
    final,
    generatedBy: 'test',
    backend: 'cpu',
    publish: false,
  });

describe('a transplant under the protocol', () => {
  it('without final: trains and evaluates without rendering one final-test image; with final: scores the final test only', async () => {
    const before = tf.memory().numTensors;
    const dev = await run(false);
    expect(dev.evaluation.split).toBe('dev');
    expect(dev.evaluation.images).toHaveLength(400);
    expect(dev.curve.map((c) => c.step)).toEqual([1]);
    expect(rendered.length).toBeGreaterThan(400);
    expect(rendered.filter((s) => s.includes(':final:'))).toEqual([]);
    expect(dev.data).toContain('dev 200 + 200');

    rendered.length = 0;
    const final = await run(true);
    expect(final.evaluation.split).toBe('test');
    // 400 final-test images, scored three times: after step 1, at the end, and by the reference network.
    const finalImages = rendered.filter((s) => s.includes(':final:'));
    expect(new Set(finalImages).size).toBe(400);
    expect(finalImages).toHaveLength(1200);
    expect(rendered.filter((s) => s.includes(':val:'))).toEqual([]);
    // The reference (the target's own network) is scored on the same final-test images.
    expect(final.referenceEvaluation?.images).toHaveLength(400);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);
});
