import * as tf from '@tensorflow/tfjs';
import { IsInt, Min } from 'class-validator';
import { PluginRegistry, createModule, type ModuleInstance } from '@transplant/composer';
import type { BuiltModule, ModulePlugin, Port } from '@transplant/core';

/** Tiny modules for distillation tests: 8×8 images, a 4×4×3 map at stride 2, one logit. */
class Tiny {
  @IsInt()
  @Min(1)
  layers = 1;
}

const map: Port = {
  role: 'feature-map',
  dtype: 'float32',
  shape: [null, 4, 4, 3],
  channels: 3,
  stride: 2,
  values: 'non-negative',
};
const chain = (layers: tf.layers.Layer[]): BuiltModule => ({
  layers,
  apply: (x) => layers.reduce((t, l) => l.apply(t) as tf.SymbolicTensor, x),
});
const conv = (name: string, filters: number, seed: number) =>
  tf.layers.conv2d({
    name,
    filters,
    kernelSize: 3,
    padding: 'same',
    activation: 'relu',
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.1, seed: seed + 50 }),
  });

const category: ModulePlugin<Tiny> = {
  family: 'tiny-category',
  version: '1.0.0',
  kind: 'category',
  description: 'test',
  optionsSchema: Tiny,
  ports: () => ({
    input: {
      role: 'image',
      dtype: 'float32',
      shape: [null, 8, 8, 3],
      channels: 3,
      stride: 1,
      values: 'unit',
    },
    output: map,
  }),
  build: (_o, { seed, prefix }) =>
    chain([conv(`${prefix}conv`, 3, seed), tf.layers.maxPooling2d({ name: `${prefix}pool`, poolSize: 2 })]),
};
const task: ModulePlugin<Tiny> = {
  family: 'tiny-task',
  version: '1.0.0',
  kind: 'task',
  task: 'cls',
  description: 'test',
  optionsSchema: Tiny,
  ports: () => ({
    input: map,
    output: { role: 'logits', dtype: 'float32', shape: [null, 1], channels: 1, stride: 0, values: 'real' },
  }),
  build: (_o, { seed, prefix }) =>
    chain([
      conv(`${prefix}conv`, 4, seed),
      tf.layers.maxPooling2d({ name: `${prefix}pool`, poolSize: 2 }),
      tf.layers.flatten({ name: `${prefix}flat` }),
      tf.layers.dense({
        name: `${prefix}logit`,
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ]),
};
const segTask: ModulePlugin<Tiny> = {
  family: 'tiny-seg',
  version: '1.0.0',
  kind: 'task',
  task: 'seg',
  description: 'test',
  optionsSchema: Tiny,
  ports: () => ({
    input: map,
    output: {
      role: 'mask-logits',
      dtype: 'float32',
      shape: [null, 8, 8, 1],
      channels: 1,
      stride: 1,
      values: 'real',
    },
  }),
  build: (_o, { seed, prefix }) =>
    chain([
      tf.layers.conv2d({
        name: `${prefix}mask`,
        filters: 1,
        kernelSize: 3,
        padding: 'same',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.upSampling2d({ name: `${prefix}up`, size: [2, 2], interpolation: 'bilinear' }),
    ]),
};

const adapter: ModulePlugin<Tiny> = {
  family: 'tiny-adapter',
  version: '1.0.0',
  kind: 'adapter',
  description: 'test',
  optionsSchema: Tiny,
  ports: () => ({ input: map, output: map }),
  build: (options, { seed, prefix }) =>
    chain(Array.from({ length: options.layers }, (_, i) => conv(`${prefix}conv${i + 1}`, 3, seed + i))),
};

export const tinyPlugins = () => new PluginRegistry([category, task, segTask, adapter]);

export function tinyModules(
  seed = 1,
  adapterLayers = 1,
): {
  category: ModuleInstance;
  task: ModuleInstance;
  teacherTask: ModuleInstance;
  adapter: ModuleInstance;
  plugins: PluginRegistry;
} {
  const plugins = tinyPlugins();
  return {
    plugins,
    category: createModule(plugins, { name: 'cat-features', family: 'tiny-category', seed, category: 'cat' }),
    task: createModule(plugins, { name: 'bird-head', family: 'tiny-task', seed: seed + 10 }),
    teacherTask: createModule(plugins, { name: 'cat-head', family: 'tiny-task', seed: seed + 20 }),
    adapter: createModule(plugins, {
      name: 'cat-bird-adapter',
      family: 'tiny-adapter',
      options: { layers: adapterLayers },
      seed: seed + 30,
    }),
  };
}
