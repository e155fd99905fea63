import { TransplantError, type ValueRange } from '@transplant/core';
import type { LayersModelGraph } from './keras-topology';
import { inboundNames } from './split-layers-model';

export type Shape = readonly (number | null)[];

/** Activations whose outputs are never negative. */
const NON_NEGATIVE_ACTIVATIONS = new Set(['relu', 'relu6', 'sigmoid', 'softmax', 'softplus']);

/** Layers whose output is non-negative when their input is (pooling, reshaping, dropout, padding). */
const PRESERVING = new Set([
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Dropout',
  'Flatten',
  'Reshape',
  'UpSampling2D',
  'ZeroPadding2D',
  'Cropping2D',
]);

/** Merges whose output is non-negative when every input is. */
const MERGES = new Set(['Add', 'Concatenate', 'Average', 'Maximum', 'Minimum', 'Multiply']);

/**
 * The value range of a layer's output, from the configs: non-negative after a ReLU (layer or
 * activation; sigmoid, softmax and softplus too), and through the layers and merges that keep
 * non-negative inputs non-negative (so a split after relu → max pool says non-negative, as a
 * VGG category module does); real otherwise. The model input (images in [0, 1]) is non-negative.
 */
export function featureValues(graph: LayersModelGraph, name: string): ValueRange {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const memo = new Map<string, ValueRange>();
  const values = (n: string): ValueRange => {
    const layer = byName.get(n);
    if (!layer) return 'non-negative';
    if (memo.has(n)) return memo.get(n)!;
    const c = layer.config;
    let result: ValueRange = 'real';
    if (layer.class_name === 'ReLU')
      result =
        Number(c['negative_slope'] ?? 0) === 0 && Number(c['threshold'] ?? 0) >= 0 ? 'non-negative' : 'real';
    else if (layer.class_name === 'Softmax') result = 'non-negative';
    else if (typeof c['activation'] === 'string')
      result = NON_NEGATIVE_ACTIVATIONS.has(c['activation']) ? 'non-negative' : 'real';
    else if (PRESERVING.has(layer.class_name) || MERGES.has(layer.class_name))
      result = inboundNames(layer).every((i) => values(i) === 'non-negative') ? 'non-negative' : 'real';
    memo.set(n, result);
    return result;
  };
  return values(name);
}

/**
 * The feature map's stride relative to the image: input side / feature side, the same integer
 * on both axes; 0 for outputs without spatial layout (rank 2). Refused (E_IMPORT_SPLIT) when
 * the sides do not divide, unless the caller gives the stride.
 */
export function featureStride(input: Shape, feature: Shape, split: string, override?: number): number {
  if (override !== undefined) return override;
  if (feature.length !== 4 || input.length !== 4) return 0;
  const ratios = [1, 2].map((axis) => (input[axis] ?? NaN) / (feature[axis] ?? NaN));
  if (ratios.every((r) => Number.isInteger(r) && r >= 1) && ratios[0] === ratios[1]) return ratios[0]!;
  throw new TransplantError(
    'E_IMPORT_SPLIT',
    `the output of "${split}" is [${feature.join(', ')}] for an input of [${input.join(', ')}]: no integer stride; choose another layer or give the stride (--stride)`,
    {
      module: split,
      operation: 'split',
      details: { input, feature },
    },
  );
}
