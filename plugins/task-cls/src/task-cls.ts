import * as tf from '@tensorflow/tfjs';
import { ArrayMaxSize, IsArray, IsInt, Max, Min } from 'class-validator';
import {
  FeatureMapInputOptions,
  featureMapPort,
  type BuiltModule,
  type ModulePlugin,
  type Port,
} from '@transplant/core';

/** Options of a classification head; the property initialisers are the defaults. */
export class TaskClsOptions extends FeatureMapInputOptions {
  /** Conv widths; each conv+ReLU is followed by a 2×2 max pool while the map is larger than 1. */
  @IsArray()
  @ArrayMaxSize(4)
  @IsInt({ each: true })
  @Min(1, { each: true })
  convs: number[] = [64];

  @IsInt()
  @Min(1)
  hidden = 64;

  /** 1: one logit, "category vs. rest" (sigmoid); K ≥ 2: K class logits (softmax). */
  @IsInt()
  @Min(1)
  @Max(1000)
  classes = 1;
}

/**
 * A classification head: conv+ReLU (+ 2×2 max pool) layers, flatten, a dense ReLU layer and
 * the logits. Binary heads give one logit (category vs. rest); multi-class heads give K.
 */
export const taskCls: ModulePlugin<TaskClsOptions> = {
  family: 'task-cls',
  version: '1.0.0',
  kind: 'task',
  task: 'cls',
  description:
    'classification head: conv+ReLU+pool layers, dense ReLU, logits (1 for category vs. rest, K for multi-class)',
  optionsSchema: TaskClsOptions,
  ports(options) {
    const input = featureMapPort(options.inputSize, options.inputChannels, options.inputStride);
    const output: Port = {
      role: 'logits',
      dtype: 'float32',
      shape: [null, options.classes],
      channels: options.classes,
      stride: 0,
      values: 'real',
    };
    return { input, output };
  },
  build(options, { seed, prefix }): BuiltModule {
    const layers: tf.layers.Layer[] = [];
    let size = options.inputSize;
    options.convs.forEach((filters, i) => {
      layers.push(
        tf.layers.conv2d({
          name: `${prefix}conv${i + 1}`,
          filters,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
        }),
      );
      if (size > 1) {
        layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `${prefix}pool${i + 1}` }));
        size = Math.floor(size / 2);
      }
    });
    layers.push(
      tf.layers.flatten({ name: `${prefix}flatten` }),
      tf.layers.dense({
        name: `${prefix}hidden`,
        units: options.hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed + 100 }),
      }),
      tf.layers.dense({
        name: `${prefix}logits`,
        units: options.classes,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 101 }),
      }),
    );
    return { layers, apply: (x) => layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x) };
  },
};
