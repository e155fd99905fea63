import * as tf from '@tensorflow/tfjs';
import { IsInt, Min } from 'class-validator';
import type { BuiltModule, ModulePlugin, Port } from '@transplant/core';

/** Tiny plugins for composer tests: an 8×8 image, a 4×4×C map, a 1-logit or mask head. */
export class TinyOptions {
  @IsInt()
  @Min(1)
  channels = 4;
}

const image: Port = {
  role: 'image',
  dtype: 'float32',
  shape: [null, 8, 8, 3],
  channels: 3,
  stride: 1,
  values: 'unit',
};
const map = (channels: number): Port => ({
  role: 'feature-map',
  dtype: 'float32',
  shape: [null, 4, 4, channels],
  channels,
  stride: 2,
  values: 'non-negative',
});
const chain = (layers: tf.layers.Layer[]): BuiltModule => ({
  layers,
  apply: (x) => layers.reduce((t, l) => l.apply(t) as tf.SymbolicTensor, x),
});

export const tinyCategory: ModulePlugin<TinyOptions> = {
  family: 'tiny-category',
  version: '1.0.0',
  kind: 'category',
  description: 'test: one conv and a pool',
  optionsSchema: TinyOptions,
  ports: (options) => ({ input: image, output: map(options.channels) }),
  build: (options, { seed, prefix }) =>
    chain([
      tf.layers.conv2d({
        name: `${prefix}conv`,
        filters: options.channels,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.constant({ value: 0.05 }),
      }),
      tf.layers.maxPooling2d({ name: `${prefix}pool`, poolSize: 2 }),
    ]),
};

export const tinyTask: ModulePlugin<TinyOptions> = {
  family: 'tiny-task',
  version: '1.0.0',
  kind: 'task',
  task: 'cls',
  description: 'test: flatten and one logit',
  optionsSchema: TinyOptions,
  ports: (options) => ({
    input: map(options.channels),
    output: { role: 'logits', dtype: 'float32', shape: [null, 1], channels: 1, stride: 0, values: 'real' },
  }),
  build: (_o, { seed, prefix }) =>
    chain([
      tf.layers.flatten({ name: `${prefix}flatten` }),
      tf.layers.dense({
        name: `${prefix}logit`,
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
    ]),
};

export const tinyAdapter: ModulePlugin<TinyOptions> = {
  family: 'tiny-adapter',
  version: '1.0.0',
  kind: 'adapter',
  description: 'test: one 1×1 conv',
  optionsSchema: TinyOptions,
  ports: (options) => ({ input: map(options.channels), output: map(options.channels) }),
  build: (options, { seed, prefix }) =>
    chain([
      tf.layers.conv2d({
        name: `${prefix}conv`,
        filters: options.channels,
        kernelSize: 1,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
    ]),
};
