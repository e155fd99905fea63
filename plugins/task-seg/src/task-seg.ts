import * as tf from '@tensorflow/tfjs';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Min } from 'class-validator';
import {
  FeatureMapInputOptions,
  featureMapPort,
  type BuiltModule,
  type ModulePlugin,
  type Port,
} from '@transplant/core';

/** Options of a segmentation head; the property initialisers are the defaults. */
export class TaskSegOptions extends FeatureMapInputOptions {
  /**
   * Decoder widths: a 3×3 conv at the input scale, then one ×2 transposed conv per further
   * width. What stride is left is closed by bilinear upsampling of the mask logits.
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @IsInt({ each: true })
  @Min(1, { each: true })
  widths: number[] = [64, 32, 16];
}

const log2 = (n: number) => Math.round(Math.log2(n));

/**
 * A segmentation head: conv+ReLU at the input scale, learned ×2 upsamplings (4×4 transposed
 * conv+ReLU, stride 2), a 1×1 conv to one mask logit, and bilinear upsampling of that logit
 * to image size. Upsampling one logit channel instead of wide feature maps keeps the last,
 * largest stage cheap; the learned stages carry the shape.
 */
export const taskSeg: ModulePlugin<TaskSegOptions> = {
  family: 'task-seg',
  version: '1.0.0',
  kind: 'task',
  task: 'seg',
  description:
    'segmentation head: conv+ReLU, ×2 transposed convs, 1×1 conv to a mask logit, bilinear upsampling to image size',
  optionsSchema: TaskSegOptions,
  optionViolations(options) {
    const out: { path: string; message: string }[] = [];
    if (2 ** log2(options.inputStride) !== options.inputStride)
      out.push({ path: 'inputStride', message: 'must be a power of two' });
    else if (options.widths.length - 1 > log2(options.inputStride))
      out.push({
        path: 'widths',
        message: `at most log2(inputStride) + 1 = ${log2(options.inputStride) + 1} widths`,
      });
    return out;
  },
  ports(options) {
    const size = options.inputSize * options.inputStride;
    const input = featureMapPort(options.inputSize, options.inputChannels, options.inputStride);
    const output: Port = {
      role: 'mask-logits',
      dtype: 'float32',
      shape: [null, size, size, 1],
      channels: 1,
      stride: 1,
      values: 'real',
    };
    return { input, output };
  },
  build(options, { seed, prefix }): BuiltModule {
    const heNormal = (i: number) => tf.initializers.heNormal({ seed: seed + i });
    const layers: tf.layers.Layer[] = [
      tf.layers.conv2d({
        name: `${prefix}conv0`,
        filters: options.widths[0]!,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: heNormal(0),
      }),
    ];
    options.widths.slice(1).forEach((filters, i) => {
      layers.push(
        tf.layers.conv2dTranspose({
          name: `${prefix}up${i + 1}`,
          filters,
          kernelSize: 4,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: heNormal(i + 1),
        }),
      );
    });
    layers.push(
      tf.layers.conv2d({
        name: `${prefix}mask`,
        filters: 1,
        kernelSize: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }),
      }),
    );
    const left = options.inputStride / 2 ** (options.widths.length - 1);
    if (left > 1)
      layers.push(
        tf.layers.upSampling2d({ name: `${prefix}resize`, size: [left, left], interpolation: 'bilinear' }),
      );
    return { layers, apply: (x) => layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x) };
  },
};
