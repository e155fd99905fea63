import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Network,
  PluginRegistry,
  checkImages,
  differenceToReference,
  disposeModule,
  importGraphModel,
  readModelFiles,
} from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';
import { createPlatform } from '@transplant/platform';
import { importCommand } from './import';

/**
 * Real pretrained models from npm packages (devDependencies: CI installs them) checked on real
 * photographs (Debian's darknet package, installed by tools/scripts/install-system-deps.sh).
 */
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const MOBILENET = join(root, 'node_modules/nsfwjs/dist/models/mobilenet_v2/model.min.js');
const CENTERNET = join(root, 'node_modules/@vladmandic/human/models/centernet.json');
const PHOTOS = '/usr/share/darknet/data';
const photo = (name: string) => join(PHOTOS, `${name}.jpg`);
const missing = [MOBILENET, CENTERNET, photo('horses'), join(PHOTOS, 'coco.names')].filter(
  (p) => !existsSync(p),
);
if (missing.length > 0)
  console.warn(
    `import-real.spec: skipped, missing ${missing.join(', ')} (npm ci; tools/scripts/install-system-deps.sh)`,
  );

const plugins = () =>
  new PluginRegistry([importedCategory, importedCls, importedSeg, graphCategory, graphCls, graphSeg]);

describe.skipIf(missing.length > 0)('real models from npm packages, checked on real photographs', () => {
  let dir: string;
  beforeAll(async () => {
    // Full-size models: the fastest back end that works here (wasm+onednn where the addon is built).
    await selectBackend({ env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-import-real-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('MobileNetV2 (Keras LayersModel wrapped in JS modules, uint8 weights) splits at out_relu and matches stock tfjs on photos', async () => {
    const program = new Command('transplant')
      .option('--backend <id>')
      .option('--registry <location>')
      .option('--json')
      .exitOverride();
    let value: Record<string, unknown> | undefined;
    importCommand(program, {
      services: () => ({ ...createPlatform({}), plugins: plugins() }),
      globals: () => program.opts(),
      env: {},
      out: (v) => (value = v as Record<string, unknown>),
      err: () => undefined,
      progress: () => ({
        update: () => undefined,
        note: () => undefined,
        done: () => undefined,
        abort: () => undefined,
      }),
    });
    await program.parseAsync(
      [
        'import',
        '--model',
        MOBILENET,
        '--split',
        'out_relu',
        '--category',
        'photo',
        '--task',
        'cls',
        '--check-image',
        photo('horses'),
        photo('dog'),
        photo('eagle'),
        '--out',
        join(dir, 'mobilenet'),
      ],
      { from: 'user' },
    );
    expect(value!['difference']).toBeLessThanOrEqual(1e-4);
    const modules = value!['modules'] as { layers: number; ports: { output: { shape: unknown[] } } }[];
    expect(modules[0]!.ports.output.shape).toEqual([null, 7, 7, 1280]);
    expect(modules[0]!.layers).toBe(154);
  }, 120_000);

  it('CenterNet (GraphModel, float16 weights) splits into backbone + per-class heat-map head that see the right animals', async () => {
    const start = tf.memory().numTensors;
    const classes = { bird: 14, horse: 17, dog: 16 };
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(CENTERNET),
      split: 'tower_0/CenternetHead/Relu_2',
      output: 'tower_0/CenternetHead/centernet_cls_output/BiasAdd',
      category: 'animal',
      task: 'seg',
      inputRange: [0, 255],
      channels: [classes.bird, classes.horse, classes.dog],
    });
    try {
      expect(g.feature).toMatchObject({ shape: [null, 128, 128, 128], stride: 4, values: 'non-negative' });
      expect(g.task.ports.output.shape).toEqual([null, 512, 512, 3]);
      const images = await checkImages([512, 512, 3], { images: [photo('horses'), photo('eagle')] });
      const difference = differenceToReference(
        g,
        (x) =>
          tf.image.resizeBilinear(
            tf.gather(
              g.original.execute(tf.mul(x, 255), g.output) as tf.Tensor,
              [14, 17, 16],
              3,
            ) as tf.Tensor4D,
            [512, 512],
          ),
        images,
      );
      expect(difference).toBeLessThanOrEqual(1e-4);
      // The strongest heat per class and photo: horses.jpg shows horses, eagle.jpg a bird.
      const network = Network.create(
        [g.category, g.task],
        [{ category: g.category.name, task: g.task.name }],
      );
      const peak = tf.tidy(
        () => tf.max(network.run(g.category.name, g.task.name, images), [1, 2]).arraySync() as number[][],
      );
      images.dispose();
      const [horses, eagle] = peak as [number[], number[]];
      expect(horses[1]!).toBeGreaterThan(0); // logit > 0: horse probability > 0.5
      expect(horses[1]!).toBeGreaterThan(horses[0]!);
      expect(eagle[0]!).toBeGreaterThan(0);
      expect(eagle[0]!).toBeGreaterThan(eagle[1]!);
    } finally {
      [g.category, g.task].forEach(disposeModule);
      g.original.dispose();
    }
    expect(tf.memory().numTensors).toBe(start);
  }, 180_000);
});
