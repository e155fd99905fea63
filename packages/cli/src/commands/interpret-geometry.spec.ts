import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Network,
  PluginRegistry,
  importGraphModel,
  importLayersModel,
  readModelFiles,
  writeGraphFixture,
  writeModelFiles,
} from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { defaultGraphLayers } from '@transplant/explanatory-graph';
import { cellGeometry, findLayer } from '@transplant/interpretable';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';

/**
 * Where a layer's cells sit in the image, for imported real-network shapes: Keras applications
 * pad explicitly (ZeroPadding2D) before strided 'valid' convolutions and merge residual branches.
 */
describe('cell geometry through padding layers and residual merges', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-geometry-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('follows the first input of merges and counts the rows a ZeroPadding2D adds', async () => {
    const input = tf.input({ shape: [16, 16, 3], name: 'image' });
    const padded = tf.layers
      .zeroPadding2d({
        padding: [
          [1, 0],
          [1, 0],
        ],
        name: 'pad',
      })
      .apply(input);
    const down = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', name: 'down' })
      .apply(padded);
    const side = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'side' }).apply(down);
    const sum = tf.layers.add({ name: 'sum' }).apply([down, side] as tf.SymbolicTensor[]);
    const top = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'top' }).apply(sum);
    const head = tf.layers
      .dense({ units: 1, name: 'logit' })
      .apply(tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(top));
    const model = tf.model({ inputs: input, outputs: head as tf.SymbolicTensor });
    const path = await writeModelFiles(model, join(dir, 'net'));
    model.dispose();
    const imported = importLayersModel(new PluginRegistry([importedCategory, importedCls, importedSeg]), {
      model: await readModelFiles(path),
      split: 'top',
      category: 'cat',
      task: 'cls',
    });
    const network = Network.create(
      [imported.category, imported.task],
      [{ category: imported.category.name, task: imported.task.name }],
    );
    const link = { category: imported.category.name, task: imported.task.name };
    // top (3×3 same) → sum (first input: down) → down (3×3, stride 2, valid) → pad (1 row before):
    // cell i is centred at 2·i + 1 − 1 + 0.5 in image pixels.
    expect(cellGeometry(findLayer(network, link, 'top'))).toEqual({
      scale: 2,
      offset: 0.5,
      mapSize: [8, 8],
      imageSize: [16, 16],
    });
    expect(cellGeometry(findLayer(network, link, 'sum'))).toEqual({
      scale: 2,
      offset: 0.5,
      mapSize: [8, 8],
      imageSize: [16, 16],
    });
    expect(cellGeometry(findLayer(network, link, 'pad'))).toEqual({
      scale: 1,
      offset: -0.5,
      mapSize: [17, 17],
      imageSize: [16, 16],
    });
    network.dispose();
  });

  it('refuses, with the layer and the axes, a layer whose rows and columns step differently', async () => {
    const input = tf.input({ shape: [16, 16, 3], name: 'image' });
    const wide = tf.layers
      .conv2d({ filters: 4, kernelSize: [1, 7], padding: 'valid', name: 'wide' })
      .apply(input) as tf.SymbolicTensor;
    const top = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'top' }).apply(wide);
    const head = tf.layers
      .dense({ units: 1, name: 'logit' })
      .apply(tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(top));
    const model = tf.model({ inputs: input, outputs: head as tf.SymbolicTensor });
    const path = await writeModelFiles(model, join(dir, 'wide'));
    model.dispose();
    const imported = importLayersModel(new PluginRegistry([importedCategory, importedCls, importedSeg]), {
      model: await readModelFiles(path),
      split: 'top',
      category: 'cat',
      task: 'cls',
      stride: 1,
    });
    const network = Network.create(
      [imported.category, imported.task],
      [{ category: imported.category.name, task: imported.task.name }],
    );
    const link = { category: imported.category.name, task: imported.task.name };
    // 16×10 after the 1×7 'valid' conv: rows keep their place, columns shift by 3.
    expect(() => cellGeometry(findLayer(network, link, 'top'))).toThrow(
      /layer \S*wide has kernel size 1 along rows and 7 along columns/,
    );
    network.dispose();
  });

  it('places the cells of any node of an imported GraphModel (each node is a layer)', async () => {
    const g = await importGraphModel(new PluginRegistry([graphCategory, graphCls, graphSeg]), {
      model: await readModelFiles(await writeGraphFixture(join(dir, 'graph'))),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
    });
    g.original.dispose();
    const network = Network.create([g.category, g.task], [{ category: g.category.name, task: g.task.name }]);
    const link = { category: g.category.name, task: g.task.name };
    // c1: 3×3, stride 2, SAME on 16 px (no padding before: TF pads the odd row after) → 2·i + 1 + 0.5.
    const eight = { scale: 2, offset: 1.5, mapSize: [8, 8], imageSize: [16, 16] };
    expect(cellGeometry(findLayer(network, link, 'c1'))).toEqual(eight);
    // dw (3×3, SAME, pad 1) cancels its own centre shift; skip and se follow their first input.
    for (const node of ['dw', 'skip', 'se'])
      expect(cellGeometry(findLayer(network, link, node))).toEqual(eight);
    // Graph mining's default layers: the category module's conv ops.
    expect(defaultGraphLayers(network, link)).toEqual([`${g.category.name}:c1`]);
    // The head's up-sampling cannot be traced back to image positions: a coded refusal.
    expect(() => cellGeometry(findLayer(network, link, 'up'))).toThrow(/cannot trace/);
    network.dispose();
  });
});
