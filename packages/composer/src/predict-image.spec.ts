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
import { channelCentres, clsPrediction, formatPrediction, predictImage, regionBoxes } from './predict-image';
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

  it("cls with several outputs: every class's probability — a softmax of logits, or the head's own probabilities", () => {
    const logits = [2, 0, -1];
    const fromLogits = clsPrediction(logits, 'none', ['cat', 'dog', 'bird'], 'l');
    if (fromLogits.task !== 'cls' || !fromLogits.classes) throw new Error('expected classes');
    const z = Math.exp(2) + 1 + Math.exp(-1);
    expect(fromLogits.classes.map((c) => c.probability)).toEqual(
      [Math.exp(2) / z, 1 / z, Math.exp(-1) / z].map((p) => expect.closeTo(p, 12)),
    );
    expect(fromLogits.classes.map((c) => c.name)).toEqual(['cat', 'dog', 'bird']);
    expect(fromLogits.score).toBeCloseTo(Math.exp(2) / z, 12);
    expect(fromLogits.logit).toBeCloseTo(Math.log(Math.exp(2) / z) - Math.log(1 - Math.exp(2) / z), 10);
    // An imported head that ends in a softmax gives probabilities already: not squashed again.
    const probs = [0.1, 0.7, 0.2];
    const fromSoftmax = clsPrediction(probs, 'softmax', [], 'l');
    if (fromSoftmax.task !== 'cls') throw new Error('expected cls');
    expect(fromSoftmax.classes?.map((c) => [c.name, c.probability])).toEqual([
      ['output 0', 0.1],
      ['output 1', 0.7],
      ['output 2', 0.2],
    ]);
    expect(fromSoftmax.logit).toBeCloseTo(Math.log(0.1 / 0.9), 12);
    expect(formatPrediction(fromSoftmax).split('\n')[0]).toBe('l: output 1 (0.7000)');
    // One logit: "category vs rest", as before.
    const one = clsPrediction([1.5], 'none', [], 'l');
    expect(one).toEqual({ task: 'cls', link: 'l', logit: 1.5, score: 1 / (1 + Math.exp(-1.5)) });
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

  it('regions: boxes of 4-connected regions, largest first, small ones dropped', () => {
    // 6×6: a 2×3 block, a diagonal pair (two regions of one pixel), a 1×4 bar.
    const m = new Uint8Array(36);
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 1],
      [2, 1],
      [4, 2],
      [5, 3],
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
    ])
      m[y! * 6 + x!] = 255;
    expect(regionBoxes(m, 6, 0)).toEqual([
      [0, 0, 3, 2],
      [1, 5, 4, 1],
      [4, 2, 1, 1],
      [5, 3, 1, 1],
    ]);
    expect(regionBoxes(m, 6, 2 / 36)).toEqual([
      [0, 0, 3, 2],
      [1, 5, 4, 1],
    ]);
  });

  it('centres: local maxima of one channel at or above the threshold, strongest first', () => {
    // 5×5 logits, 2 channels (HWC): channel 1 has peaks of 2 at (1,1) and 0 at (3,3), a plateau-free slope elsewhere.
    const size = 5;
    const values = new Float32Array(size * size * 2).fill(-3);
    values[(1 * size + 1) * 2 + 1] = 2;
    values[(3 * size + 3) * 2 + 1] = 0;
    values[(3 * size + 4) * 2 + 1] = -0.5;
    const logit = (p: number) => Math.log(p / (1 - p));
    expect(channelCentres(values, size, 2, 1, 0.3).map(([x, y]) => [x, y])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(channelCentres(values, size, 2, 1, 0.3)[0]![2]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(channelCentres(values, size, 2, 1, 0.6)).toHaveLength(1);
    expect(channelCentres(values, size, 2, 0, 0.3)).toEqual([]);
    // A plateau (as bilinear up-sampling leaves at the edges) is one centre: its first pixel.
    const flat = new Float32Array(size * size).fill(-3);
    for (const [x, y] of [
      [3, 3],
      [4, 3],
      [3, 4],
      [4, 4],
    ])
      flat[y! * size + x!] = 1;
    expect(channelCentres(flat, size, 1, 0, 0.3).map(([x, y]) => [x, y])).toEqual([[3, 3]]);
    expect(logit(0.3)).toBeLessThan(0);
  });
});
