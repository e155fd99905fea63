import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '@transplant/core';
import {
  inboundNames,
  LAYER_CLASSES,
  topologicalOrder,
  type GraphSpec,
  type KerasLayer,
  type LayerClass,
} from './keras-graph';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keras config keys that size a model's own input; a module's input comes from its options. */
const INPUT_KEYS = new Set(['batch_input_shape', 'input_shape', 'batch_size', 'input_dim']);

const camel = (s: string): string => s.replace(/_+([A-Za-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * Keras (Python) config to the TensorFlow.js form its layer constructors take: keys and
 * string values in camelCase (`channels_last` → `channelsLast`, `fan_avg` → `fanAvg`), names
 * unchanged. This is the conversion tf.loadLayersModel applies, which tfjs does not export.
 */
function pythonicToTs(value: unknown, key?: string): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return key === 'name' ? value : camel(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => pythonicToTs(v, key));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k === 'name' ? k : camel(k),
      pythonicToTs(v, k),
    ]),
  );
}

/**
 * The config without input sizing keys, with every initializer written as `{class_name, config}`
 * (the form Keras and tfjs write) seeded, so that the same options and seed give bit-identical
 * initial weights. Imported modules load their weights right after building; the seed matters
 * for freshly created ones.
 */
function prepareConfig(config: Record<string, unknown>, seed: number): Record<string, unknown> {
  let n = 0;
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => !INPUT_KEYS.has(key))
      .map(([key, value]) => {
        const init = value as { class_name?: unknown; config?: unknown } | null;
        if (
          !key.endsWith('_initializer') ||
          typeof init !== 'object' ||
          init === null ||
          typeof init.config !== 'object' ||
          init.config === null
        )
          return [key, value];
        if (!('seed' in init.config)) return [key, value];
        return [key, { ...init, config: { ...init.config, seed: seed + n++ } }];
      }),
  );
}

/** A TensorFlow.js layer from its Keras config, named `${prefix}${name}`. */
export function deserializeLayer(
  layer: KerasLayer,
  options: { prefix: string; seed: number },
): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.class_name];
  if (!entry || !Object.hasOwn(LAYER_CLASSES, layer.class_name)) {
    throw new TransplantError(
      'E_OPTIONS_INVALID',
      `layer ${layer.name}: ${layer.class_name} is not supported`,
      { module: layer.name, operation: 'build' },
    );
  }
  const [cls, fromConfig] = entry;
  const config = pythonicToTs(prepareConfig(layer.config, options.seed)) as tf.serialization.ConfigDict;
  return fromConfig(cls, { ...config, name: `${options.prefix}${layer.name}` }) as tf.layers.Layer;
}

/** The seed of the i-th layer's initializers: far enough apart that no two layers share one. */
export const layerSeed = (seed: number, index: number): number => seed + 64 * index;

/**
 * The output shape (batch axis first) of every layer of the graph, from the configs alone:
 * no weights are created and no tensors allocated.
 */
export function inferShapes(spec: GraphSpec, inputShape: readonly number[]): Map<string, (number | null)[]> {
  const shapes = new Map<string, (number | null)[]>([[spec.input, [null, ...inputShape]]]);
  for (const layer of topologicalOrder(spec)) {
    const inputs = inboundNames(layer).map((n) => shapes.get(n)!);
    const merge = LAYER_CLASSES[layer.class_name as LayerClass] === 'merge';
    const shape = deserializeLayer(layer, { prefix: '', seed: 0 }).computeOutputShape(
      merge ? inputs : inputs[0]!,
    );
    shapes.set(layer.name, shape as (number | null)[]);
  }
  return shapes;
}
