import * as tf from '@tensorflow/tfjs';
import { IsIn, IsInt, IsOptional, Min } from 'class-validator';
import { featureMapPort, type BuiltModule, type ModulePlugin } from '@transplant/core';

/** Options of a conv adapter; the property initialisers are the defaults. */
export class AdapterConvOptions {
  /** The input feature map (a category module's output port). */
  @IsInt()
  @Min(1)
  size = 8;

  @IsInt()
  @Min(1)
  channels = 64;

  @IsInt()
  @Min(1)
  stride = 8;

  /** Channels of the output port (the task module's input); defaults to `channels`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  outChannels?: number;

  /** conv1 or conv3 adapters (docs/methods.md §4): 1 or 3 conv+ReLU layers. */
  @IsIn([1, 3])
  layers: 1 | 3 = 1;

  /**
   * `identity` (when channels agree; h(x) = x at step 0) or `he-normal` (seeded; what
   * experiments that must learn h from scratch use). Default: identity when possible.
   */
  @IsOptional()
  @IsIn(['identity', 'he-normal'])
  init?: 'identity' | 'he-normal';
}

const outChannels = (options: AdapterConvOptions) => options.outChannels ?? options.channels;

/** A [3, 3, c, c] kernel that copies every channel through: with ReLU on a non-negative map, h(x) = x. */
function identityKernel(channels: number): tf.Tensor4D {
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(channels), [1, 1, channels, channels]);
    return tf.pad(eye, [
      [1, 1],
      [1, 1],
      [0, 0],
      [0, 0],
    ]) as tf.Tensor4D;
  });
}

/**
 * An adapter h between two feature-map ports of the same size and stride: 1 or 3 3×3
 * conv+ReLU layers. When input and output channels agree, every layer starts as the
 * identity (centre tap 1 on the diagonal, zero bias), so h(x) = x exactly at step 0 for the
 * non-negative maps category modules output. When they differ, layers start He-normal
 * (seeded), zero bias, intermediate widths = output channels.
 */
export const adapterConv: ModulePlugin<AdapterConvOptions> = {
  family: 'adapter-conv',
  version: '1.0.0',
  kind: 'adapter',
  description:
    '1 or 3 3×3 conv+ReLU layers between feature maps; identity-initialised when channels agree, else He-normal',
  optionsSchema: AdapterConvOptions,
  optionViolations(options) {
    return options.init === 'identity' && outChannels(options) !== options.channels
      ? [{ path: 'init', message: `identity needs outChannels = channels (${options.channels})` }]
      : [];
  },
  ports(options) {
    return {
      input: featureMapPort(options.size, options.channels, options.stride),
      output: featureMapPort(options.size, outChannels(options), options.stride),
    };
  },
  build(options, { seed, prefix }): BuiltModule {
    const out = outChannels(options);
    const identity = out === options.channels && options.init !== 'he-normal';
    const layers = Array.from({ length: options.layers }, (_, i) =>
      tf.layers.conv2d({
        name: `${prefix}conv${i + 1}`,
        filters: out,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: identity ? 'zeros' : tf.initializers.heNormal({ seed: seed + i }),
      }),
    );
    let initialised = false;
    return {
      layers,
      apply: (x) => {
        const y = layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x);
        if (identity && !initialised) {
          initialised = true;
          const kernel = identityKernel(out);
          for (const layer of layers) layer.setWeights([kernel, ...layer.getWeights().slice(1)]);
          kernel.dispose();
        }
        return y;
      },
    };
  },
};
