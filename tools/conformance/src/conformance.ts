import * as tf from '@tensorflow/tfjs';
import {
  createModule,
  disposeModule,
  moduleArtifact,
  moduleFromManifest,
  type ModuleInstance,
  type PluginRegistry,
} from '@transplant/composer';
import { TransplantError, parsePluginOptions, type ModulePlugin, type Port } from '@transplant/core';
import type { Registry } from '@transplant/registry';
import { moduleFixture } from '@transplant/registry/testing';

/** One plugin under test: its registry (to build through), and an option set (undefined: its defaults). */
export interface ConformanceCase {
  readonly plugins: PluginRegistry;
  readonly plugin: ModulePlugin;
  readonly options: Record<string, unknown> | undefined;
}

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

const build = (c: ConformanceCase, name: string, seed: number) =>
  createModule(c.plugins, { name, family: c.plugin.family, options: c.options, seed, category: 'cat' });

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof TransplantError ? error.code : String(error);
  }
};

/** Defaults parse and parse again to themselves; unknown and ill-typed options are refused with E_OPTIONS_INVALID. */
export function optionsViolations(c: ConformanceCase): string[] {
  const out: string[] = [];
  const parsed = parsePluginOptions(c.plugin, c.options);
  if (JSON.stringify(parsePluginOptions(c.plugin, parsed)) !== JSON.stringify(parsed))
    out.push('parsed options do not parse to themselves');
  const unknown = codeOf(() => parsePluginOptions(c.plugin, { ...parsed, surprise: 1 }));
  if (unknown !== 'E_OPTIONS_INVALID') out.push(`an unknown option gave ${unknown ?? 'no error'}`);
  const firstKey = Object.keys(parsed)[0];
  if (firstKey === undefined) return [...out, 'the plugin declares no options'];
  const illTyped = codeOf(() => parsePluginOptions(c.plugin, { ...parsed, [firstKey]: 'not a number' }));
  if (illTyped !== 'E_OPTIONS_INVALID') out.push(`an ill-typed ${firstKey} gave ${illTyped ?? 'no error'}`);
  return out;
}

/** The built layers' shapes are the ports, outputs keep the declared value range, and every tensor is freed. */
export function buildViolations(c: ConformanceCase): string[] {
  const out: string[] = [];
  const start = tf.memory().numTensors;
  const module = build(c, 'probe-module', 1);
  if (module.kind !== c.plugin.kind) out.push(`built a ${module.kind}, declares ${c.plugin.kind}`);
  const same = (a: readonly unknown[], b: readonly unknown[]) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(module.model.inputs[0]!.shape, module.ports.input.shape))
    out.push(`input shape ${JSON.stringify(module.model.inputs[0]!.shape)} ≠ port`);
  if (!same(module.model.outputs[0]!.shape, module.ports.output.shape))
    out.push(`output shape ${JSON.stringify(module.model.outputs[0]!.shape)} ≠ port`);
  const input = inputFor(module.ports.input);
  const output = tf.tidy(() => module.model.predict(input) as tf.Tensor);
  if (!same(output.shape, [2, ...module.ports.output.shape.slice(1)]))
    out.push(`predicted shape ${JSON.stringify(output.shape)} ≠ port`);
  if (module.ports.output.values === 'non-negative' && Math.min(...output.dataSync()) < 0)
    out.push('a non-negative output port gave negative values');
  tf.dispose([input, output]);
  disposeModule(module);
  if (tf.memory().numTensors !== start) out.push(`${tf.memory().numTensors - start} tensors leaked`);
  return out;
}

/** The same seed gives the same outputs. */
export function seedViolations(c: ConformanceCase): string[] {
  const [a, b] = [build(c, 'seed-a', 5), build(c, 'seed-b', 5)];
  const input = inputFor(a.ports.input);
  const same = Array.from(outputOf(a, input)).join() === Array.from(outputOf(b, input)).join();
  input.dispose();
  [a, b].forEach(disposeModule);
  return same ? [] : ['two modules built with seed 5 give different outputs'];
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

/** serialize → publish → fetch → rebuild gives bit-identical outputs and records the family and version. */
export async function roundTripViolations(c: ConformanceCase, registry: Registry): Promise<string[]> {
  const out: string[] = [];
  const name = `${c.plugin.family}-${Math.abs(
    JSON.stringify(c.options ?? {})
      .split('')
      .reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7),
  )}`;
  const original = build(c, name, 9);
  const input = inputFor(original.ports.input);
  const expected = outputOf(original, input);
  await registry.publish(
    moduleArtifact(original, {
      ...meta,
      dependencies: c.plugin.kind === 'adapter' ? await adapterPins(registry) : [],
    }),
  );
  const fetched = await registry.fetch(`${name}@1.0.0`);
  const family = fetched.manifest.family;
  if (family.name !== c.plugin.family || family.version !== c.plugin.version)
    out.push(`the manifest records ${family.name}@${family.version}`);
  const rebuilt = moduleFromManifest(c.plugins, fetched.manifest, fetched.weights);
  if (Array.from(outputOf(rebuilt, input)).join() !== Array.from(expected).join())
    out.push('the rebuilt module gives other outputs');
  input.dispose();
  [original, rebuilt].forEach(disposeModule);
  return out;
}

/** Every check above, for one case. */
export async function conformanceViolations(c: ConformanceCase, registry: Registry): Promise<string[]> {
  return [
    ...optionsViolations(c),
    ...buildViolations(c),
    ...seedViolations(c),
    ...(await roundTripViolations(c, registry)),
  ];
}
