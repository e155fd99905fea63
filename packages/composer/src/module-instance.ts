import * as tf from '@tensorflow/tfjs';
import {
  TransplantError,
  decodeWeights,
  encodeWeights,
  loadModuleWeights,
  moduleWeights,
  parsePluginOptions,
  tensorsToWeights,
  weightsToTensors,
  type BuildableKind,
  type BuiltModule,
  type ModuleManifest,
  type ModulePlugin,
  type Port,
  type TaskId,
} from '@transplant/core';
import { runPluginHook, type PluginHook } from './plugin-hook';
import type { PluginRegistry } from './plugin-registry';

/** Where a module instance came from in a registry: its exact version and weights digest. */
export interface PublishedIdentity {
  readonly version: string;
  readonly digest: string;
  readonly manifest: ModuleManifest;
}

/** One module, built and holding weights: fresh from a plugin, or loaded from a registry. */
export interface ModuleInstance {
  /** The module name; also the prefix of its layer names (`<name>__`). */
  readonly name: string;
  readonly kind: BuildableKind;
  readonly plugin: ModulePlugin;
  readonly options: object;
  readonly ports: { readonly input: Port; readonly output: Port };
  readonly built: BuiltModule;
  /** The module alone as a model (input port → output port), sharing the layers' weights. */
  readonly model: tf.LayersModel;
  readonly prefix: string;
  readonly category?: string;
  readonly task?: TaskId;
  /** Set once the module is published or when it was loaded from a registry. */
  published?: PublishedIdentity;
}

export interface CreateModuleOptions {
  readonly name: string;
  readonly family: string;
  readonly options?: unknown;
  readonly seed?: number;
  readonly category?: string;
}

function instantiate(
  plugin: ModulePlugin,
  input: { name: string; options: unknown; seed: number; category?: string },
): ModuleInstance {
  const hook = <T>(name: PluginHook, call: () => T) =>
    runPluginHook({ plugin, hook: name, module: input.name }, call);
  const options = hook('options', () => parsePluginOptions(plugin, input.options));
  const prefix = `${input.name}__`;
  const built = hook('build', () => plugin.build(options, { seed: input.seed, prefix }));
  const ports = hook('ports', () => plugin.ports(options));
  // Applying the layers once to a free input creates their weights.
  const free = tf.input({ shape: ports.input.shape.slice(1) as number[], name: `${prefix}input` });
  let model: tf.LayersModel;
  try {
    const outputs = hook('apply', () => built.apply(free));
    model = tf.model({ inputs: free, outputs, name: `${prefix}module` });
  } catch (error) {
    // The layers built before the failure hold weights nothing else will free; a layer built
    // but never applied refuses Layer.dispose, so its weights go one by one.
    for (const layer of built.layers.filter((l) => l.built)) {
      try {
        while (layer.dispose().refCountAfterDispose > 0);
      } catch {
        layer.weights.forEach((w) => w.dispose());
      }
    }
    throw error;
  }
  return {
    model,
    name: input.name,
    kind: plugin.kind,
    plugin,
    options,
    ports,
    built,
    prefix,
    ...(input.category !== undefined ? { category: input.category } : {}),
    ...(plugin.task !== undefined ? { task: plugin.task } : {}),
  };
}

/** A new module with seeded initial weights. */
export function createModule(plugins: PluginRegistry, input: CreateModuleOptions): ModuleInstance {
  return instantiate(plugins.get(input.family), {
    name: input.name,
    options: input.options,
    seed: input.seed ?? 0,
    ...(input.category !== undefined ? { category: input.category } : {}),
  });
}

const samePort = (a: Port, b: Port): boolean =>
  a.role === b.role &&
  a.dtype === b.dtype &&
  a.channels === b.channels &&
  a.stride === b.stride &&
  a.values === b.values &&
  JSON.stringify(a.shape) === JSON.stringify(b.shape);

/** Rebuilds a published module from its manifest and loads its (already verified) weights. */
export function moduleFromManifest(
  plugins: PluginRegistry,
  manifest: ModuleManifest,
  weights: Uint8Array,
): ModuleInstance {
  if (manifest.kind === 'network') {
    throw new TransplantError('E_COMPOSITION_INVALID', `${manifest.name} is a network, not a module`, {
      module: manifest.name,
      operation: 'load',
    });
  }
  const plugin = plugins.get(manifest.family.name, manifest.family.version);
  const instance = instantiate(plugin, {
    name: manifest.name,
    options: manifest.options,
    seed: 0,
    ...(manifest.category !== undefined ? { category: manifest.category } : {}),
  });
  if (
    !samePort(instance.ports.input, manifest.ports.input) ||
    !samePort(instance.ports.output, manifest.ports.output)
  ) {
    disposeModule(instance);
    throw new TransplantError(
      'E_MANIFEST_INVALID',
      `the manifest's ports are not those ${plugin.family}@${plugin.version} builds from its options`,
      {
        module: `${manifest.name}@${manifest.version}`,
        operation: 'load',
        details: { manifest: manifest.ports, built: instance.ports },
      },
    );
  }
  const tensors = weightsToTensors(decodeWeights(weights).tensors);
  try {
    loadModuleWeights(instance, { tensors, module: `${manifest.name}@${manifest.version}` });
  } finally {
    tf.dispose(Object.values(tensors));
  }
  instance.published = { version: manifest.version, digest: manifest.weights.digest, manifest };
  return instance;
}

/** The module's weights as a Transplant weights blob. */
export function encodeModuleWeights(
  instance: ModuleInstance,
  generatedBy: string,
): { blob: Uint8Array; tensors: number; parameters: number } {
  const named = tensorsToWeights(moduleWeights(instance.built, instance.prefix));
  const parameters = named.reduce((sum, w) => sum + w.data.length, 0);
  return { blob: encodeWeights(named, { generatedBy }), tensors: named.length, parameters };
}

const disposed = new WeakSet<ModuleInstance>();

/**
 * Frees the weights of every layer of the module. tfjs-layers counts one reference per
 * application of a layer; a module is applied once per link, so release them all.
 */
export function disposeModule(instance: ModuleInstance): void {
  // Idempotent: a module can sit in several networks (a transplant shares f and g with the networks they came from).
  if (disposed.has(instance)) return;
  disposed.add(instance);
  for (const layer of instance.built.layers) {
    if (!layer.built) continue;
    while (layer.dispose().refCountAfterDispose > 0);
  }
}
