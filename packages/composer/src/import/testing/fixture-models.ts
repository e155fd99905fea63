import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Tiny seeded models for import tests: deterministic weights, non-zero biases. */
const init = (seed: number) => ({
  kernelInitializer: tf.initializers.glorotUniform({ seed }),
  biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }),
});
const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
  layer.apply(x) as tf.SymbolicTensor;

/** image [8,8,3] → stem → (b1 → b2) + stem → relu → pool → flatten → dense(3): a residual block. */
export function residualFixture(): tf.LayersModel {
  const L = tf.layers;
  const image = tf.input({ shape: [8, 8, 3], name: 'image' });
  const stem = apply(
    L.conv2d({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }),
    image,
  );
  const b1 = apply(
    L.conv2d({ name: 'b1', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(3) }),
    stem,
  );
  const b2 = apply(L.conv2d({ name: 'b2', filters: 4, kernelSize: 3, padding: 'same', ...init(5) }), b1);
  const relu = apply(L.reLU({ name: 'relu' }), apply(L.add({ name: 'add' }), [b2, stem]));
  const pool = apply(L.maxPooling2d({ name: 'pool', poolSize: 2 }), relu);
  const logits = apply(
    L.dense({ name: 'logits', units: 3, ...init(7) }),
    apply(L.flatten({ name: 'flatten' }), pool),
  );
  return tf.model({ inputs: image, outputs: logits, name: 'resnet' });
}

/** A Sequential classifier: conv+relu → pool → conv+relu(bn) → flatten → dense(2). */
export function sequentialFixture(): tf.Sequential {
  const L = tf.layers;
  return tf.sequential({
    name: 'plain',
    layers: [
      L.conv2d({
        name: 'c1',
        inputShape: [8, 8, 3],
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        ...init(11),
      }),
      L.maxPooling2d({ name: 'p1', poolSize: 2 }),
      L.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', ...init(13) }),
      L.batchNormalization({
        name: 'bn',
        movingVarianceInitializer: tf.initializers.constant({ value: 1.5 }),
        betaInitializer: tf.initializers.constant({ value: 0.2 }),
      }),
      L.flatten({ name: 'f' }),
      L.dense({ name: 'out', units: 2, ...init(15) }),
    ],
  });
}

/** A segmenter: conv+relu → pool → conv → upsample → 1-channel mask logits at image size. */
export function segFixture(): tf.LayersModel {
  const L = tf.layers;
  const image = tf.input({ shape: [8, 8, 3], name: 'image' });
  const pool = apply(
    L.maxPooling2d({ name: 'pool', poolSize: 2 }),
    apply(
      L.conv2d({ name: 'enc', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(21) }),
      image,
    ),
  );
  const up = apply(
    L.upSampling2d({ name: 'up', size: [2, 2] }),
    apply(
      L.conv2d({ name: 'dec', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(23) }),
      pool,
    ),
  );
  return tf.model({
    inputs: image,
    outputs: apply(L.conv2d({ name: 'mask', filters: 1, kernelSize: 1, ...init(25) }), up),
    name: 'segmenter',
  });
}

/**
 * Writes a model as model.json + weights.bin. `tfjs`: the layout tf.io and
 * `exportLayersModel` write; `keras`: the topology wrapped as tensorflowjs_converter writes
 * Keras models (`{keras_version, backend, model_config}`). Returns the model.json path.
 */
export async function writeModelFiles(
  model: tf.LayersModel,
  directory: string,
  form: 'tfjs' | 'keras' = 'tfjs',
): Promise<string> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(
      async (a) => (
        (artifacts = a),
        { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      ),
    ),
  );
  const topology = artifacts!.modelTopology as { class_name: string; config: unknown };
  const modelTopology =
    form === 'tfjs'
      ? topology
      : { keras_version: '2.15.0', backend: 'tensorflow', model_config: topology, training_config: null };
  await mkdir(directory, { recursive: true });
  await writeFile(
    join(directory, 'weights.bin'),
    new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts!.weightData)),
  );
  const path = join(directory, 'model.json');
  await writeFile(
    path,
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'test',
      convertedBy: null,
      modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }],
    }),
  );
  return path;
}
