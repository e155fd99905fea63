import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModulePlugin } from '@transplant/core';
import { selectBackend } from '@transplant/core';
import { decodeImage, encodePng } from '@transplant/data';
import { createModule } from './module-instance';
import { Network } from './network';
import { PluginRegistry } from './plugin-registry';
import { predictImage } from './predict-image';
import { TinyOptions, tinyCategory, tinyTask } from './testing/tiny-plugins';

/** A mask head for the tiny 4×4 map: one 1×1 conv, upsampled to the 8×8 input. */
const tinySeg: ModulePlugin<TinyOptions> = {
  ...tinyTask,
  family: 'tiny-seg',
  task: 'seg',
  description: 'test: a mask head',
  ports: (options) => ({
    ...tinyTask.ports(options),
    output: {
      role: 'logits',
      dtype: 'float32',
      shape: [null, 8, 8, 1],
      channels: 1,
      stride: 1,
      values: 'real',
    },
  }),
  build: (_o, { seed, prefix }) => {
    const layers = [
      tf.layers.conv2d({
        name: `${prefix}conv`,
        filters: 1,
        kernelSize: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
      }),
      tf.layers.upSampling2d({ name: `${prefix}up`, size: [2, 2] }),
    ];
    return { layers, apply: (x) => layers.reduce((t, l) => l.apply(t) as tf.SymbolicTensor, x) };
  },
};

let dir = '';
let network: Network;
const image = () => join(dir, 'in.png');

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-predict-'));
  const plugins = new PluginRegistry([tinyCategory, tinyTask, tinySeg]);
  const category = createModule(plugins, { name: 'cat-features', family: 'tiny-category', seed: 1 });
  const cls = createModule(plugins, { name: 'cat-head', family: 'tiny-task', seed: 2 });
  const seg = createModule(plugins, { name: 'cat-mask', family: 'tiny-seg', seed: 3 });
  network = Network.create(
    [category, cls, seg],
    [
      { category: category.name, task: cls.name },
      { category: category.name, task: seg.name },
    ],
  );
  const rgb = Uint8Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 37) % 256);
  await writeFile(image(), await encodePng({ width: 12, height: 10, rgb }));
});
afterAll(async () => {
  network.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('predictImage', () => {
  it('cls: the logit and its sigmoid, every tensor freed', async () => {
    const before = tf.memory().numTensors;
    const p = await predictImage({
      network,
      link: { category: 'cat-features', task: 'cat-head' },
      image: image(),
    });
    expect(tf.memory().numTensors).toBe(before);
    if (p.task !== 'cls') throw new Error('expected a cls prediction');
    expect(p.link).toBe('cat-features → cat-head');
    expect(p.score).toBeCloseTo(1 / (1 + Math.exp(-p.logit)), 12);
  });

  it('seg: thresholds the logits at 0 and writes the mask and the overlay next to the image', async () => {
    const before = tf.memory().numTensors;
    const p = await predictImage({
      network,
      link: { category: 'cat-features', task: 'cat-mask' },
      image: image(),
    });
    expect(tf.memory().numTensors).toBe(before);
    if (p.task !== 'seg') throw new Error('expected a seg prediction');
    expect(p.overlay).toBe(join(dir, 'in.cat-mask.png'));
    expect(p.mask).toBe(join(dir, 'in.cat-mask.mask.png'));
    const overlay = await decodeImage(p.overlay);
    // Enlarged (nearest) to 256 pixels from the 8-pixel input.
    expect([overlay.width, overlay.height]).toEqual([256, 256]);
    expect((await readFile(p.mask)).subarray(1, 4).toString()).toBe('PNG');
    // The reported share is the mask's: its lit pixels over all of them.
    const mask = await decodeImage(p.mask);
    const lit = Array.from({ length: mask.width * mask.height }, (_, i) => mask.rgb[i * 3]! > 0);
    expect(p.foreground).toBeCloseTo(lit.filter(Boolean).length / lit.length, 12);
    const out = join(dir, 'chosen.png');
    const chosen = await predictImage({
      network,
      link: { category: 'cat-features', task: 'cat-mask' },
      image: image(),
      out,
    });
    expect(chosen).toMatchObject({
      overlay: out,
      mask: join(dir, 'chosen.mask.png'),
      foreground: p.foreground,
    });
  });
});
