import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Network,
  PluginRegistry,
  importGraphModel,
  importLayersModel,
  readModelFiles,
  type ModuleInstance,
} from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { cropResize, decodeImage } from '@transplant/data';
import { explainNetwork } from '@transplant/explainer';
import { localizeParts, mineCategoryGraph } from '@transplant/explanatory-graph';
import { rgbTensor } from '@transplant/interpretable';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';

/**
 * `graph localize` and `explain` on the real pretrained models of import-real.spec (npm
 * devDependencies, darknet's photos), at their full input sizes, with few images and steps so
 * that each test stays short; docs/import.md has the measured full runs.
 */
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const MOBILENET = join(root, 'node_modules/nsfwjs/dist/models/mobilenet_v2/model.min.js');
const CENTERNET = join(root, 'node_modules/@vladmandic/human/models/centernet.json');
const HORSES = '/usr/share/darknet/data/horses.jpg';
const missing = [MOBILENET, CENTERNET, HORSES].filter((p) => !existsSync(p));
if (missing.length > 0)
  console.warn(
    `tools-real.spec: skipped, missing ${missing.join(', ')} (npm ci; tools/scripts/install-system-deps.sh)`,
  );

const plugins = () =>
  new PluginRegistry([importedCategory, importedCls, importedSeg, graphCategory, graphCls, graphSeg]);

const linked = (modules: { readonly category: ModuleInstance; readonly task: ModuleInstance }) => {
  const link = { category: modules.category.name, task: modules.task.name };
  return { link, network: Network.create([modules.category, modules.task], [link]) };
};

describe.skipIf(missing.length > 0)('graph localize and explain on real models at full size', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend({ env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-tools-real-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('graph localize: a graph mined from CenterNet’s backbone at 512 px places nodes in the image and localizes parts, leaking no tensors', async () => {
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(CENTERNET),
      split: 'tower_0/CenternetHead/Relu_2',
      output: 'tower_0/CenternetHead/centernet_cls_output/BiasAdd',
      category: 'animal',
      task: 'seg',
      inputRange: [0, 255],
      channels: [15],
    });
    g.original.dispose();
    const { network, link } = linked(g);
    try {
      const start = tf.memory().numTensors;
      // The feature pyramid's stride-16 merge: 32×32 cells of 256 channels over a 512-px image.
      const { graph } = await mineCategoryGraph({
        network,
        link,
        category: 'cat',
        reference: 'centernet',
        images: 2,
        negatives: 2,
        iterations: 1,
        layers: ['tower_0/CenternetHead/Relu'],
      });
      expect(graph.imageSize).toBe(512);
      expect(graph.layers[0]!.state.geometry).toMatchObject({ h: 32, w: 32, scale: 16 });
      expect(graph.layers[0]!.state.filters).toBe(256);
      const { results, test } = await localizeParts({
        graph,
        network,
        link,
        category: 'cat',
        pool: { count: 2, seed: 'tools-real-shots' },
        test: { count: 2, seed: 'tools-real-test' },
        parts: ['head', 'torso'],
        shots: [1, 2],
        draws: 2,
        top: 10,
        seed: 'tools-real',
        picture: { file: join(dir, 'parts.png'), k: 1, index: 0, title: 'centernet' },
      });
      // Every tensor of the reads is freed: the maps are kept as typed arrays only.
      expect(tf.memory().numTensors).toBe(start);
      expect(results.map((r) => [r.part, r.k])).toEqual([
        ['head', 1],
        ['head', 2],
        ['torso', 1],
        ['torso', 2],
      ]);
      for (const r of results) {
        expect(r.testImages).toBeGreaterThan(0);
        for (const d of Object.values(r.distance)) {
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(1);
        }
      }
      // Real localisations, not a constant: the methods disagree, and none lands on every part exactly.
      const distances = results.flatMap((r) => Object.values(r.distance));
      expect(new Set(distances).size).toBeGreaterThan(1);
      expect(Math.min(...distances)).toBeGreaterThan(0);
      // Inferred node positions lie in the 512-px image (x, y per node and image).
      const layer = test.inference.layers[0]!;
      expect(layer.nodes).toBe(graph.layers[0]!.state.filters * Math.ceil(32 * 32 * 0.1));
      expect(layer.pos.length).toBe(2 * layer.nodes * 2);
      expect(layer.pos.every((v) => v >= 0 && v <= 512)).toBe(true);
      expect((await readFile(join(dir, 'parts.png'))).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      network.dispose();
    }
  }, 120_000);

  it('explain: MobileNetV2 (nsfwjs) at 224 px, one class of its softmax head through its log-odds; shares sum to 1, no tensor leaks', async () => {
    const imported = importLayersModel(plugins(), {
      model: await readModelFiles(MOBILENET),
      split: 'block_16_project_BN',
      category: 'photo',
      task: 'cls',
    });
    const { network, link } = linked(imported);
    const settings = {
      network,
      link,
      reference: 'nsfwjs-mobilenet',
      category: 'cat' as const,
      out: join(dir, 'explain'),
      image: HORSES,
      steps: 4,
      eta: 0,
      decision: 1,
      filters: 8,
      pool: 8,
      devPool: 8,
      images: 6,
      test: 6,
      seed: 1,
      crop: true,
    };
    try {
      const start = tf.memory().numTensors;
      // Five softmax outputs: which one is explained must be said.
      await expect(explainNetwork(settings)).rejects.toMatchObject({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('has 5 outputs; choose the class whose log-odds is explained'),
      });
      await expect(explainNetwork({ ...settings, output: 5 })).rejects.toMatchObject({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('has no output 5; its outputs are 0–4'),
      });
      const report = await explainNetwork({ ...settings, output: 0 });
      expect(tf.memory().numTensors).toBe(start);
      expect(report.explained).toBe('output 0 of 5, log-odds from the softmax');
      // The groups' shares and the ordinary track's partition the features; the decision shares
      // of the interpretable groups are a part of the whole.
      const shares = report.groups.reduce((s, g) => s + g.share, 0) + report.ordinaryShare;
      expect(shares).toBeCloseTo(1, 5);
      const decision = report.groups.reduce((s, g) => s + g.decision, 0);
      expect(decision).toBeGreaterThanOrEqual(0);
      expect(decision).toBeLessThanOrEqual(1 + 1e-6);
      expect(report.groups.reduce((s, g) => s + g.filters, 0)).toBe(8);
      expect(report.p).toBeGreaterThanOrEqual(0);
      expect(report.p).toBeLessThanOrEqual(1);
      expect(report.image!.groups.reduce((s, g) => s + g.share, 0)).toBeCloseTo(1, 5);
      // The image's logit is class 0's log-odds under the original head's softmax on the photo.
      const decoded = await decodeImage(HORSES);
      const picture = await cropResize(
        decoded,
        { left: 0, top: 0, width: decoded.width, height: decoded.height },
        224,
      );
      const probabilities = tf.tidy(
        () => network.run(link.category, link.task, rgbTensor([picture], 224)).dataSync() as Float32Array,
      );
      expect(probabilities.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
      const rest = probabilities.slice(1).reduce((s, v) => s + v, 0);
      expect(report.image!.logit).toBeCloseTo(Math.log(probabilities[0]!) - Math.log(rest), 3);
      expect(await readFile(report.files.markdown, 'utf8')).toContain(
        'Explained: output 0 of 5, log-odds from the softmax.',
      );
    } finally {
      network.dispose();
    }
  }, 120_000);
});
