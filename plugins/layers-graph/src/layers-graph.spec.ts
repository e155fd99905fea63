import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadModuleWeights,
  moduleWeights,
  parsePluginOptions,
  selectBackend,
  type BuiltModule,
  type ModulePlugin,
} from '@transplant/core';
import { importedCategory } from './imported-category';
import { importedCls } from './imported-cls';
import { importedSeg } from './imported-seg';
import { LAYER_CLASSES, type KerasLayer } from './keras-graph';
import type { LayersGraphOptions } from './layers-graph-options';

const PLUGINS = [importedCategory, importedCls, importedSeg] as ModulePlugin<LayersGraphOptions>[];

/** What the composer does with a plugin: parse the options, build, apply once to a free input. */
function instantiate(plugin: ModulePlugin<LayersGraphOptions>, raw: unknown, seed = 1, prefix = 'm__') {
  const options = parsePluginOptions(plugin, raw);
  const built = plugin.build(options, { seed, prefix });
  const ports = plugin.ports(options);
  const input = tf.input({ shape: ports.input.shape.slice(1) as number[] });
  return { options, built, ports, model: tf.model({ inputs: input, outputs: built.apply(input) }) };
}

function dispose(built: BuiltModule): void {
  for (const layer of built.layers) if (layer.built) while (layer.dispose().refCountAfterDispose > 0);
}

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array).slice();
}

/** A functional model that uses every supported layer class, residual merges included. */
function everyClassModel(): tf.LayersModel {
  const L = tf.layers;
  const image = tf.input({ shape: [8, 8, 3], name: 'image' });
  const stem = L.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: 'same',
    activation: 'relu',
    name: 'stem',
  }).apply(image) as tf.SymbolicTensor;
  const a = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(
    stem,
  ) as tf.SymbolicTensor;
  const b = L.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'sep' }).apply(
    stem,
  ) as tf.SymbolicTensor;
  const bn = L.batchNormalization({ name: 'bn' }).apply(
    L.add({ name: 'add' }).apply([a, b, stem]) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const merged = [
    L.multiply({ name: 'mul' }),
    L.average({ name: 'avg' }),
    L.maximum({ name: 'max' }),
    L.minimum({ name: 'min' }),
  ].map((m) => m.apply([bn, stem]) as tf.SymbolicTensor);
  const acts = [
    L.reLU({ name: 'relu' }),
    L.leakyReLU({ alpha: 0.2, name: 'leaky' }),
    L.elu({ name: 'elu' }),
    L.activation({ activation: 'tanh', name: 'tanh' }),
  ].map((l, i) => l.apply(merged[i]!) as tf.SymbolicTensor);
  const cat = L.concatenate({ name: 'cat' }).apply(acts) as tf.SymbolicTensor;
  const norm = L.layerNormalization({ name: 'ln' }).apply(
    L.dropout({ rate: 0.3, name: 'drop' }).apply(cat) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const padded = L.cropping2D({
    cropping: [
      [1, 1],
      [1, 1],
    ],
    name: 'crop',
  }).apply(
    L.zeroPadding2d({ padding: 1, name: 'pad' }).apply(norm) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const pooled = L.averagePooling2d({ poolSize: 2, name: 'avgpool' }).apply(
    L.maxPooling2d({ poolSize: 1, name: 'maxpool' }).apply(padded) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const up = L.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 2, name: 'deconv' }).apply(
    L.upSampling2d({ size: [1, 1], name: 'up' }).apply(pooled) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const globals = [L.globalAveragePooling2d({ name: 'gap' }), L.globalMaxPooling2d({ name: 'gmp' })].map(
    (g) => g.apply(up) as tf.SymbolicTensor,
  );
  const flat = L.flatten({ name: 'flat' }).apply(
    L.reshape({ targetShape: [2, 3], name: 'reshape' }).apply(
      L.concatenate({ name: 'gcat' }).apply(globals) as tf.SymbolicTensor,
    ) as tf.SymbolicTensor,
  ) as tf.SymbolicTensor;
  const logits = L.dense({ units: 3, name: 'logits' }).apply(flat) as tf.SymbolicTensor;
  return tf.model({
    inputs: image,
    outputs: L.softmax({ name: 'softmax' }).apply(logits) as tf.SymbolicTensor,
    name: 'every',
  });
}

describe('layers-graph plugins', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each(PLUGINS.map((p) => [p.family, p] as const))(
    '%s: defaults build layers whose shapes are the ports, seeded, and free every tensor',
    (_family, plugin) => {
      const start = tf.memory().numTensors;
      const a = instantiate(plugin, undefined, 5);
      const b = instantiate(plugin, undefined, 5);
      const c = instantiate(plugin, undefined, 6);
      expect(a.model.outputs[0]!.shape).toEqual(a.ports.output.shape);
      expect(a.ports.input.role).toBe(plugin.kind === 'category' ? 'image' : 'feature-map');
      const x = tf.randomUniform([2, ...(a.ports.input.shape.slice(1) as number[])], 0, 1, 'float32', 3);
      expect(Array.from(predict(a.model, x))).toEqual(Array.from(predict(b.model, x)));
      expect(Array.from(predict(a.model, x))).not.toEqual(Array.from(predict(c.model, x)));
      if (a.ports.output.values === 'non-negative')
        expect(Math.min(...predict(a.model, x))).toBeGreaterThanOrEqual(0);
      x.dispose();
      [a, b, c].forEach((m) => dispose(m.built));
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it('every supported class deserialises, and the graph walk equals tfjs running the same topology', () => {
    const reference = everyClassModel();
    for (const w of reference.weights)
      w.write(
        tf.tidy(() =>
          tf.randomUniform(
            w.shape as number[],
            w.name.includes('variance') ? 0.5 : -0.5,
            w.name.includes('variance') ? 1.5 : 0.5,
            'float32',
            w.shape.length + w.name.length,
          ),
        ),
      );
    const config = (
      reference.toJSON(null, false) as unknown as {
        config: { layers: (KerasLayer & { class_name: string })[] };
      }
    ).config;
    const layers = config.layers.filter((l) => l.class_name !== 'InputLayer');
    expect(new Set(layers.map((l) => l.class_name))).toEqual(new Set(Object.keys(LAYER_CLASSES)));
    const start = tf.memory().numTensors;
    const m = instantiate(
      importedCls,
      { inputShape: [8, 8, 3], input: 'image', output: 'softmax', layers, stride: 1, values: 'unit' },
      1,
      'imported__',
    );
    const stored = Object.fromEntries(reference.weights.map((w) => [w.originalName, w.read()]));
    loadModuleWeights({ built: m.built, prefix: 'imported__' }, { tensors: stored, module: 'every' });
    expect(Object.keys(moduleWeights(m.built, 'imported__')).sort()).toEqual(Object.keys(stored).sort());
    const x = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 9);
    const expected = predict(reference, x);
    const actual = predict(m.model, x);
    expect(actual.length).toBe(9);
    actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-5));
    x.dispose();
    dispose(m.built);
    expect(tf.memory().numTensors).toBe(start);
    reference.dispose();
  });

  it('refuses graphs that are not one module with E_OPTIONS_INVALID, naming the path', () => {
    const base = parsePluginOptions(importedCategory, undefined);
    const [conv, pool] = base.layers as [KerasLayer, KerasLayer];
    const refused = (patch: Partial<LayersGraphOptions>, path: string) => {
      let error: unknown;
      try {
        parsePluginOptions(importedCategory, { ...base, ...patch });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'E_OPTIONS_INVALID' });
      expect((error as { details: { path: string }[] }).details.map((d) => d.path)).toContain(path);
    };
    refused({ layers: [{ ...conv, class_name: 'Lambda' }, pool] }, 'layers[0].class_name');
    refused({ layers: [conv, { ...pool, name: 'conv' }] }, 'layers[1].name');
    refused(
      { layers: [conv, { ...pool, inbound_nodes: [[['nowhere', 0, 0, {}]]] }] },
      'layers[1].inbound_nodes',
    );
    refused(
      { layers: [conv, { ...pool, inbound_nodes: [[['conv', 0, 0, {}]], [['image', 0, 0, {}]]] }] },
      'layers[1].inbound_nodes',
    );
    refused({ layers: [{ ...conv, inbound_nodes: [[['pool', 0, 0, {}]]] }, pool] }, 'layers');
    refused({ layers: [conv, pool, { ...pool, name: 'dead' }] }, 'layers');
    refused(
      {
        layers: [
          conv,
          pool,
          { class_name: 'Add', name: 'sum', config: {}, inbound_nodes: [[['pool', 0, 0, {}]]] },
        ],
      },
      'layers[2].inbound_nodes',
    );
    refused(
      {
        layers: [
          conv,
          {
            class_name: 'Add',
            name: 'pool',
            config: {},
            inbound_nodes: [
              [
                ['conv', 0, 0, {}],
                ['image', 0, 0, {}],
              ],
            ],
          },
        ],
      },
      'layers',
    );
    refused({ output: 'missing' }, 'output');
    expect(() =>
      parsePluginOptions(importedSeg, {
        ...parsePluginOptions(importedSeg, undefined),
        output: 'logits',
        layers: parsePluginOptions(importedSeg, undefined).layers.slice(0, 1),
      }),
    ).not.toThrow();
    expect(() => parsePluginOptions(importedSeg, { ...parsePluginOptions(importedCls, undefined) })).toThrow(
      expect.objectContaining({ code: 'E_OPTIONS_INVALID' }),
    );
  });
});
