import * as tf from '@tensorflow/tfjs';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Min } from 'class-validator';
import type { BuiltModule, ModulePlugin, Port } from '@transplant/core';

/** Options of a segmentation head; the property initialisers are the defaults. */
export class TaskSegOptions {
  /** The input feature map: side, channels and stride (a power of two) relative to the image. */
  @IsInt()
  @Min(1)
  inputSize = 8;

  @IsInt()
  @Min(1)
  inputChannels = 64;

  @IsInt()
  @Min(1)
  inputStride = 8;

  /**
   * Conv widths: the first at the input scale, then one after each ×2 upsampling, so
   * log2(inputStride) + 1 of them.
   */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @IsInt({ each: true })
  @Min(1, { each: true })
  widths: number[] = [64, 32, 16, 16];
}

const upsamplings = (stride: number) => Math.round(Math.log2(stride));

/**
 * A segmentation head: conv+ReLU at the input scale, then (×2 nearest upsampling, 3×3
 * conv+ReLU) until image size, then a 1×1 conv to one mask logit per pixel.
 */
export const taskSeg: ModulePlugin<TaskSegOptions> = {
  family: 'task-seg',
  version: '1.0.0',
  kind: 'task',
  task: 'seg',
  description: 'segmentation head: conv+ReLU, then ×2 upsampling + conv+ReLU to image size, then 1×1 conv to one mask logit per pixel',
  optionsSchema: TaskSegOptions,
  optionViolations(o) {
    const out: { path: string; message: string }[] = [];
    if (2 ** upsamplings(o.inputStride) !== o.inputStride) out.push({ path: 'inputStride', message: 'must be a power of two' });
    else if (o.widths.length !== upsamplings(o.inputStride) + 1) out.push({ path: 'widths', message: `needs log2(inputStride) + 1 = ${upsamplings(o.inputStride) + 1} widths` });
    return out;
  },
  ports(o) {
    const size = o.inputSize * o.inputStride;
    const input: Port = { role: 'feature-map', dtype: 'float32', shape: [null, o.inputSize, o.inputSize, o.inputChannels], channels: o.inputChannels, stride: o.inputStride, values: 'non-negative' };
    const output: Port = { role: 'mask-logits', dtype: 'float32', shape: [null, size, size, 1], channels: 1, stride: 1, values: 'real' };
    return { input, output };
  },
  build(o, { seed, prefix }): BuiltModule {
    const conv = (name: string, filters: number, i: number) =>
      tf.layers.conv2d({ name: `${prefix}${name}`, filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: seed + i }) });
    const layers: tf.layers.Layer[] = [conv('conv0', o.widths[0]!, 0)];
    o.widths.slice(1).forEach((filters, i) => {
      layers.push(tf.layers.upSampling2d({ name: `${prefix}up${i + 1}`, size: [2, 2] }), conv(`conv${i + 1}`, filters, i + 1));
    });
    layers.push(tf.layers.conv2d({ name: `${prefix}mask`, filters: 1, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }) }));
    return { layers, apply: (x) => layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x) };
  },
};
