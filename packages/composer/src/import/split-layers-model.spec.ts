import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { featureStride, featureValues } from './feature-port';
import { parseTopology } from './keras-topology';
import { decodeWeightsManifest, localWeightNames, readModelFiles } from './model-weights';
import { splitLayersModel, splitPoints } from './split-layers-model';
import { residualFixture, sequentialFixture, writeModelFiles } from './testing/fixture-models';

function codeOf(run: () => unknown): { code?: string; details?: unknown } {
  try {
    run();
  } catch (error) {
    return error as { code?: string; details?: unknown };
  }
  return {};
}

describe('splitting a LayersModel', () => {
  let dir: string;
  let residual: { path: string; json: unknown };
  let sequential: { path: string; json: unknown };
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-split-'));
    const start = tf.memory().numTensors;
    const models = [residualFixture(), sequentialFixture()];
    const paths = [
      await writeModelFiles(models[0]!, join(dir, 'residual'), 'keras'),
      await writeModelFiles(models[1]!, join(dir, 'sequential')),
    ];
    models.forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(start);
    const read = async (p: string) => ({ path: p, json: JSON.parse(await readFile(p, 'utf8')) as unknown });
    [residual, sequential] = [await read(paths[0]!), await read(paths[1]!)];
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads both topology forms and Sequential models as one functional graph', () => {
    const fromKeras = parseTopology(residual.json, 'r');
    const tfjs = parseTopology(
      {
        modelTopology: (residual.json as { modelTopology: { model_config: unknown } }).modelTopology
          .model_config,
      },
      'r',
    );
    expect(tfjs).toEqual(fromKeras);
    expect(fromKeras.input).toEqual({ name: 'image', shape: [null, 8, 8, 3] });
    expect(fromKeras.layers.map((l) => l.name)).toEqual([
      'stem',
      'b1',
      'b2',
      'add',
      'relu',
      'pool',
      'flatten',
      'logits',
    ]);
    expect(fromKeras.layers.find((l) => l.name === 'add')!.inbound_nodes).toEqual([
      [
        ['b2', 0, 0, {}],
        ['stem', 0, 0, {}],
      ],
    ]);
    const plain = parseTopology(sequential.json, 's');
    expect(plain.input).toEqual({ name: 'plain_input', shape: [null, 8, 8, 3] });
    expect(plain.output).toBe('out');
    expect(plain.layers[0]!.inbound_nodes).toEqual([[['plain_input', 0, 0, {}]]]);
    expect(plain.layers[0]!.config).not.toHaveProperty('batch_input_shape');
    // Keras ≥ 2.4 writes a Sequential model's InputLayer as its first layer, named in its config.
    const seq = (
      sequential.json as {
        modelTopology: { config: { name: string; layers: { config: Record<string, unknown> }[] } };
      }
    ).modelTopology.config;
    const first = { ...seq.layers[0]!, config: { ...seq.layers[0]!.config, batch_input_shape: undefined } };
    const input = {
      class_name: 'InputLayer',
      config: {
        batch_input_shape: [null, 8, 8, 3],
        dtype: 'float32',
        sparse: false,
        ragged: false,
        name: 'pixels',
      },
    };
    const keras = parseTopology(
      {
        modelTopology: {
          keras_version: '2.15.0',
          model_config: {
            class_name: 'Sequential',
            config: { ...seq, layers: [input, first, ...seq.layers.slice(1)] },
          },
        },
      },
      'k',
    );
    expect(keras.input).toEqual({ name: 'pixels', shape: [null, 8, 8, 3] });
    expect(keras.layers.map((l) => l.name)).toEqual(plain.layers.map((l) => l.name));
    expect(keras.layers[0]!.inbound_nodes).toEqual([[['pixels', 0, 0, {}]]]);
  });

  it('splits after a residual block; refuses a split inside it, naming the crossing tensors', () => {
    const graph = parseTopology(residual.json, 'r');
    const { lower, upper } = splitLayersModel(graph, 'relu');
    expect(lower).toMatchObject({ input: 'image', output: 'relu' });
    expect(lower.layers.map((l) => l.name)).toEqual(['stem', 'b1', 'b2', 'add', 'relu']);
    expect(upper).toMatchObject({ input: 'relu', output: 'logits' });
    expect(upper.layers.map((l) => l.name)).toEqual(['pool', 'flatten', 'logits']);
    expect(splitPoints(graph)).toEqual(['stem', 'add', 'relu', 'pool', 'flatten']);
    for (const inside of ['b1', 'b2'])
      expect(codeOf(() => splitLayersModel(graph, inside))).toMatchObject({
        code: 'E_IMPORT_SPLIT',
        details: { crossing: ['stem', inside] },
      });
    expect(codeOf(() => splitLayersModel(graph, 'nope'))).toMatchObject({
      code: 'E_IMPORT_SPLIT',
      details: { layers: expect.arrayContaining(['stem', 'logits']) },
    });
    expect(codeOf(() => splitLayersModel(graph, 'logits')).code).toBe('E_IMPORT_SPLIT');
    expect(codeOf(() => splitLayersModel(graph, 'image')).code).toBe('E_IMPORT_SPLIT');
  });

  it('refuses models that are not one single-input, single-output graph', () => {
    const json = residual.json as { modelTopology: { model_config: { config: Record<string, unknown> } } };
    const config = json.modelTopology.model_config.config;
    const variant = (patch: Record<string, unknown>) => ({
      modelTopology: { class_name: 'Functional', config: { ...config, ...patch } },
    });
    expect(
      codeOf(() =>
        parseTopology(
          variant({
            output_layers: [
              ['logits', 0, 0],
              ['pool', 0, 0],
            ],
          }),
          'r',
        ),
      ).code,
    ).toBe('E_IMPORT_SPLIT');
    expect(
      codeOf(() =>
        parseTopology(
          variant({
            input_layers: [
              ['image', 0, 0],
              ['image2', 0, 0],
            ],
          }),
          'r',
        ),
      ).code,
    ).toBe('E_IMPORT_SPLIT');
    const layers = (config['layers'] as { name: string; inbound_nodes: unknown[] }[]).map((l) =>
      l.name === 'b1' ? { ...l, inbound_nodes: [...l.inbound_nodes, [['b2', 0, 0, {}]]] } : l,
    );
    expect(codeOf(() => parseTopology(variant({ layers }), 'r')).code).toBe('E_IMPORT_MODEL');
    const nested = (config['layers'] as { name: string }[]).map((l) =>
      l.name === 'b1' ? { ...l, class_name: 'Functional' } : l,
    );
    expect(codeOf(() => parseTopology(variant({ layers: nested }), 'r')).code).toBe('E_IMPORT_MODEL');
    expect(
      codeOf(() => parseTopology({ format: 'graph-model', modelTopology: { node: [] } }, 'g')).code,
    ).toBe('E_IMPORT_MODEL');
  });

  it('reads float32 weights and maps Keras names (scope prefixes, :0 suffixes) to module-local names', async () => {
    const files = await readModelFiles(residual.path);
    expect(files.weights.map((w) => w.name)).toContain('stem/kernel');
    const layers = new Set(parseTopology(files.modelJson, 'r').layers.map((l) => l.name));
    const renamed = files.weights.map((w) => ({ ...w, name: `resnet/${w.name}:0` }));
    expect(localWeightNames(renamed, layers, 'r').map((w) => [w.layer, w.name])).toEqual(
      localWeightNames(files.weights, layers, 'r').map((w) => [w.layer, w.name]),
    );
    expect(localWeightNames(files.weights, layers, 'r').find((w) => w.name === 'b2/bias')!.data).toEqual(
      files.weights.find((w) => w.name === 'b2/bias')!.data,
    );
    expect(
      codeOf(() => localWeightNames([{ ...files.weights[0]!, name: 'elsewhere/kernel' }], layers, 'r')).code,
    ).toBe('E_IMPORT_MODEL');
    const manifest = (
      files.modelJson as { weightsManifest: { paths: string[]; weights: Record<string, unknown>[] }[] }
    ).weightsManifest;
    const bytes = new Uint8Array(await readFile(join(dir, 'residual', 'weights.bin')));
    const decode = (m: unknown, b: Uint8Array) => () =>
      decodeWeightsManifest(m, new Map([['weights.bin', b]]), 'r');
    expect(decode(manifest, bytes)().length).toBe(files.weights.length);
    expect(codeOf(decode(manifest, bytes.slice(0, -4))).code).toBe('E_IMPORT_MODEL');
    // int32 weights are read (graph constants); a LayersModel refuses them at import (import-graph-model.spec).
    expect(
      decode(
        [{ ...manifest[0]!, weights: manifest[0]!.weights.map((w) => ({ ...w, dtype: 'int32' })) }],
        bytes,
      )().every((w) => w.dtype === 'int32' && w.data instanceof Int32Array),
    ).toBe(true);
    expect(
      codeOf(
        decode(
          [{ ...manifest[0]!, weights: manifest[0]!.weights.map((w) => ({ ...w, dtype: 'string' })) }],
          bytes,
        ),
      ).code,
    ).toBe('E_IMPORT_MODEL');
    expect(
      codeOf(
        decode(
          [
            {
              ...manifest[0]!,
              weights: manifest[0]!.weights.map((w) => ({ ...w, quantization: { dtype: 'uint8' } })),
            },
          ],
          bytes,
        ),
      ).code,
    ).toBe('E_IMPORT_MODEL');
    await writeFile(join(dir, 'broken.json'), '{ not json');
    await expect(readModelFiles(join(dir, 'broken.json'))).rejects.toMatchObject({ code: 'E_IMPORT_MODEL' });
    await expect(readModelFiles(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'E_IMPORT_MODEL',
    });
  });

  it('infers the feature port: stride from the sides, values from the activations', () => {
    const graph = parseTopology(residual.json, 'r');
    expect(['stem', 'b2', 'add', 'relu', 'pool', 'flatten'].map((n) => featureValues(graph, n))).toEqual([
      'non-negative',
      'real',
      'real',
      'non-negative',
      'non-negative',
      'non-negative',
    ]);
    expect(featureValues(parseTopology(sequential.json, 's'), 'bn')).toBe('real');
    expect(featureStride([null, 8, 8, 3], [null, 4, 4, 4], 'pool')).toBe(2);
    expect(featureStride([null, 8, 8, 3], [null, 64], 'flatten')).toBe(0);
    expect(featureStride([null, 8, 8, 3], [null, 3, 3, 4], 'x', 3)).toBe(3);
    expect(codeOf(() => featureStride([null, 8, 8, 3], [null, 3, 3, 4], 'x')).code).toBe('E_IMPORT_SPLIT');
    expect(codeOf(() => featureStride([null, 8, 8, 3], [null, 4, 2, 4], 'x')).code).toBe('E_IMPORT_SPLIT');
  });
});
