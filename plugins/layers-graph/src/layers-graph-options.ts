import { ArrayMinSize, IsArray, IsIn, IsInt, Matches, Min, ValidateBy } from 'class-validator';
import { VALUE_RANGES, type ValueRange } from '@transplant/core';
import { LAYER_NAME_PATTERN, type KerasLayer } from './keras-graph';

/**
 * Options of an imported layer graph (all three families share them; only the defaults differ):
 *
 * - `inputShape`: the module input without the batch axis, e.g. `[32, 32, 3]`;
 * - `input`: the name the layers' `inbound_nodes` use for the module input — for a category
 *   module the model's InputLayer, for a task module the layer the model was split at;
 * - `output`: the layer whose output is the module output;
 * - `layers`: the layers in Keras functional-config form (`{class_name, name, config,
 *   inbound_nodes}`, snake_case configs as model.json holds them), without the InputLayer;
 * - `stride`, `values`: what shapes cannot say about the feature-map port (the category
 *   module's output, the task module's input): its stride relative to the image and its range.
 */
export class LayersGraphOptions {
  @ValidateBy({
    name: 'isInputShape',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) &&
        v.length >= 1 &&
        v.length <= 3 &&
        v.every((n) => Number.isSafeInteger(n) && n >= 1),
      defaultMessage: () =>
        '$property must be 1 to 3 positive integers (the input shape without the batch axis)',
    },
  })
  inputShape: number[] = [];

  @Matches(LAYER_NAME_PATTERN)
  input = '';

  @Matches(LAYER_NAME_PATTERN)
  output = '';

  @IsArray()
  @ArrayMinSize(1)
  layers: KerasLayer[] = [];

  @IsInt()
  @Min(0)
  stride = 1;

  @IsIn(Object.keys(VALUE_RANGES))
  values: ValueRange = 'real';
}

/** An options class whose property initialisers are the given defaults (deep-copied per instance). */
export function optionsWithDefaults(defaults: LayersGraphOptions): new () => LayersGraphOptions {
  return class extends LayersGraphOptions {
    constructor() {
      super();
      Object.assign(this, structuredClone(defaults));
    }
  };
}

const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
const zeros = { class_name: 'Zeros', config: {} };
const conv = (
  name: string,
  filters: number,
  kernel: number,
  activation: string,
  from: string,
): KerasLayer => ({
  class_name: 'Conv2D',
  name,
  config: {
    name,
    filters,
    kernel_size: [kernel, kernel],
    strides: [1, 1],
    padding: 'same',
    activation,
    use_bias: true,
    kernel_initializer: glorot,
    bias_initializer: zeros,
  },
  inbound_nodes: [[[from, 0, 0, {}]]],
});
const layer = (
  class_name: string,
  name: string,
  config: Record<string, unknown>,
  from: string,
): KerasLayer => ({ class_name, name, config: { name, ...config }, inbound_nodes: [[[from, 0, 0, {}]]] });

/** Defaults: tiny graphs that fit each other (8×8 image → 4×4×4 map at stride 2 → head). */
export const CATEGORY_DEFAULTS: LayersGraphOptions = {
  inputShape: [8, 8, 3],
  input: 'image',
  output: 'pool',
  layers: [
    conv('conv', 4, 3, 'relu', 'image'),
    layer('MaxPooling2D', 'pool', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, 'conv'),
  ],
  stride: 2,
  values: 'non-negative',
};

export const CLS_DEFAULTS: LayersGraphOptions = {
  inputShape: [4, 4, 4],
  input: 'features',
  output: 'logits',
  layers: [
    layer('Flatten', 'flatten', {}, 'features'),
    layer(
      'Dense',
      'logits',
      { units: 1, activation: 'linear', use_bias: true, kernel_initializer: glorot, bias_initializer: zeros },
      'flatten',
    ),
  ],
  stride: 2,
  values: 'non-negative',
};

export const SEG_DEFAULTS: LayersGraphOptions = {
  inputShape: [4, 4, 4],
  input: 'features',
  output: 'upsample',
  layers: [
    conv('logits', 1, 1, 'linear', 'features'),
    layer('UpSampling2D', 'upsample', { size: [2, 2], interpolation: 'nearest' }, 'logits'),
  ],
  stride: 2,
  values: 'non-negative',
};
