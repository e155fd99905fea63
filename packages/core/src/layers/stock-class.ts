import * as tf from '@tensorflow/tfjs';

/** A tfjs-layers class as its subclasses need it: constructible, with the static fromConfig. */
export type LayerClass = (new (args?: object) => tf.layers.Layer) &
  Pick<typeof tf.layers.Layer, 'fromConfig'>;

/**
 * tfjs-layers' own class registered under `className`, from the serialization registry (the
 * package exports only factories). Read before a subclass registers itself under the same name.
 */
export function stockLayerClass(className: string): LayerClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`tfjs-layers has not registered ${className}`);
  return entry[0] as unknown as LayerClass;
}
