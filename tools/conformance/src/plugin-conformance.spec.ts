import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugins } from '@transplant/platform/testing';
import {
  createModule,
  disposeModule,
  moduleArtifact,
  moduleFromManifest,
  type ModuleInstance,
} from '@transplant/composer';
import { parsePluginOptions, selectBackend, type Port } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { moduleFixture } from '@transplant/registry/testing';
import { PLUGIN_CASES } from './plugin-cases';

/**
 * Generated over every plugin the CLI registers, with its defaults and the option sets of
 * PLUGIN_CASES: ports agree with the built layers, publish → fetch → rebuild is bit-identical,
 * outputs are deterministic for a seed, and no tensor leaks.
 */
const plugins = testPlugins();
const cases = plugins.list().flatMap((plugin) =>
  [undefined, ...(PLUGIN_CASES[plugin.family] ?? [])].map((options, i) => ({
    plugin,
    options,
    label: `${plugin.family} ${i === 0 ? 'defaults' : `case ${i}`}`,
  })),
);

const meta = {
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'conformance', seed: 3, steps: 0, backend: 'cpu' },
  card: { metrics: [] },
};

function inputFor(port: Port): tf.Tensor {
  const shape = [2, ...port.shape.slice(1)] as number[];
  return tf.randomUniform(shape, 0, 1, 'float32', 17);
}

function outputOf(module: ModuleInstance, input: tf.Tensor): Float32Array {
  return tf.tidy(() => (module.model.predict(input) as tf.Tensor).dataSync() as Float32Array).slice();
}

/** An adapter pins the exact category and task modules it sits between: publish two fixtures once. */
async function adapterPins(registry: Registry) {
  const pins = [];
  for (const kind of ['category', 'task'] as const) {
    const name = `pinned-${kind}`;
    const existing = await registry.list();
    if (!existing.some((m) => m.name === name))
      await registry.publish(moduleFixture({ name, version: '1.0.0', kind }));
    const { manifest } = await registry.manifest(`${name}@1.0.0`);
    pins.push({ name, kind, range: '1.0.0', pinned: { version: '1.0.0', digest: manifest.weights.digest } });
  }
  return pins;
}

describe('module plugin conformance', () => {
  let root: string;
  let registry: Registry;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-conformance-'));
    registry = new Registry(new FolderStore(root));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('covers every registered plugin, and every case names a registered family', () => {
    expect(
      plugins
        .list()
        .map((p) => p.family)
        .sort(),
    ).toEqual(expect.arrayContaining(['adapter-conv', 'category-vgg', 'task-cls', 'task-seg']));
    for (const family of Object.keys(PLUGIN_CASES)) expect(() => plugins.get(family)).not.toThrow();
  });

  describe.each(cases)('$label', ({ plugin, options }) => {
    it('declares its options: defaults parse, unknown and ill-typed options are refused with E_OPTIONS_INVALID', () => {
      const parsed = parsePluginOptions(plugin, options);
      expect(parsePluginOptions(plugin, parsed)).toEqual(parsed);
      expect(() => parsePluginOptions(plugin, { ...parsed, surprise: 1 })).toThrow(
        expect.objectContaining({ code: 'E_OPTIONS_INVALID' }),
      );
      const firstKey = Object.keys(parsed)[0]!;
      expect(() => parsePluginOptions(plugin, { ...parsed, [firstKey]: 'not a number' })).toThrow(
        expect.objectContaining({ code: 'E_OPTIONS_INVALID' }),
      );
    });

    it('builds layers whose shapes are its ports, and frees every tensor', () => {
      const start = tf.memory().numTensors;
      const module = createModule(plugins, {
        name: 'probe-module',
        family: plugin.family,
        options,
        seed: 1,
        category: 'cat',
      });
      expect(module.kind).toBe(plugin.kind);
      expect(module.model.inputs[0]!.shape).toEqual(module.ports.input.shape);
      expect(module.model.outputs[0]!.shape).toEqual(module.ports.output.shape);
      const input = inputFor(module.ports.input);
      const output = tf.tidy(() => module.model.predict(input) as tf.Tensor);
      expect(output.shape).toEqual([2, ...module.ports.output.shape.slice(1)]);
      if (module.ports.output.values === 'non-negative')
        expect(Math.min(...output.dataSync())).toBeGreaterThanOrEqual(0);
      tf.dispose([input, output]);
      disposeModule(module);
      expect(tf.memory().numTensors).toBe(start);
    });

    it('gives the same outputs for the same seed', () => {
      const a = createModule(plugins, {
        name: 'seed-a',
        family: plugin.family,
        options,
        seed: 5,
        category: 'cat',
      });
      const b = createModule(plugins, {
        name: 'seed-b',
        family: plugin.family,
        options,
        seed: 5,
        category: 'cat',
      });
      const input = inputFor(a.ports.input);
      expect(Array.from(outputOf(a, input))).toEqual(Array.from(outputOf(b, input)));
      input.dispose();
      [a, b].forEach(disposeModule);
    });

    it('survives serialize → publish → fetch → rebuild bit-identically', async () => {
      const name = `${plugin.family}-${Math.abs(
        JSON.stringify(options ?? {})
          .split('')
          .reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7),
      )}`;
      const original = createModule(plugins, {
        name,
        family: plugin.family,
        options,
        seed: 9,
        category: 'cat',
      });
      const input = inputFor(original.ports.input);
      const expected = outputOf(original, input);
      await registry.publish(
        moduleArtifact(original, {
          ...meta,
          dependencies: plugin.kind === 'adapter' ? await adapterPins(registry) : [],
        }),
      );
      const fetched = await registry.fetch(`${name}@1.0.0`);
      expect(fetched.manifest.family).toEqual({ name: plugin.family, version: plugin.version });
      const rebuilt = moduleFromManifest(plugins, fetched.manifest, fetched.weights);
      expect(Array.from(outputOf(rebuilt, input))).toEqual(Array.from(expected));
      input.dispose();
      [original, rebuilt].forEach(disposeModule);
    });
  });
});
