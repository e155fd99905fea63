import * as tf from '@tensorflow/tfjs';
import type { LayersModelFiles } from './model-weights';
import type { ImportedModules } from './import-layers-model';
import { Network } from '../network';

/**
 * The largest absolute difference between the original model (loaded by stock
 * tf.loadLayersModel) and the imported category → task modules, on seeded random images in
 * [0, 1]: the proof that the split lost nothing. Frees everything it creates.
 */
export async function compareWithOriginal(
  files: LayersModelFiles,
  imported: ImportedModules,
  options: { samples?: number; seed?: number } = {},
): Promise<number> {
  const json = files.modelJson as { modelTopology: object };
  const weightData = new Float32Array(files.weights.reduce((n, w) => n + w.data.length, 0));
  let offset = 0;
  for (const w of files.weights) {
    weightData.set(w.data, offset);
    offset += w.data.length;
  }
  const original = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: files.weights.map((w) => ({
        name: w.name,
        shape: [...w.shape],
        dtype: 'float32' as const,
      })),
      weightData: weightData.buffer,
    }),
  );
  // The network only reads the modules: it is not disposed, so the caller keeps them.
  const model = Network.create(
    [imported.category, imported.task],
    [{ category: imported.category.name, task: imported.task.name }],
  ).model(imported.category.name, imported.task.name);
  try {
    const shape = [options.samples ?? 2, ...(imported.category.ports.input.shape.slice(1) as number[])];
    return tf.tidy(() => {
      const x = tf.randomUniform(shape, 0, 1, 'float32', options.seed ?? 7);
      return tf
        .max(tf.abs(tf.sub(original.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)))
        .dataSync()[0]!;
    });
  } finally {
    original.dispose();
  }
}
