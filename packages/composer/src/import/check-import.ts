import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '@transplant/data';
import type { LayersModelFiles } from './model-weights';
import type { ImportedModules } from './import-layers-model';
import { Network } from '../network';

/** The images an import is checked on: real photos resized to the input, else seeded noise in [0, 1]. */
export async function checkImages(
  shape: readonly number[],
  options: { images?: readonly string[]; samples?: number; seed?: number } = {},
): Promise<tf.Tensor4D> {
  const [h, w] = shape as [number, number, number];
  if (!options.images?.length)
    return tf.randomUniform(
      [options.samples ?? 2, h, w, shape[2]!],
      0,
      1,
      'float32',
      options.seed ?? 7,
    ) as tf.Tensor4D;
  const decoded = await Promise.all(options.images.map((path) => decodeImage(path)));
  return tf.tidy(() =>
    tf.stack(
      decoded.map((image) =>
        tf.image.resizeBilinear(
          tf.div(
            tf.tensor3d(image.rgb, [image.height, image.width, 3], 'int32').toFloat(),
            255,
          ) as tf.Tensor3D,
          [h, w],
        ),
      ),
    ),
  ) as tf.Tensor4D;
}

/**
 * The largest absolute difference between a reference (the original model) and the imported
 * category → task modules on the same images: the proof that the split lost nothing. Frees
 * everything it creates; the images stay the caller's.
 */
export function differenceToReference(
  imported: ImportedModules,
  reference: (x: tf.Tensor4D) => tf.Tensor,
  images: tf.Tensor4D,
): number {
  // The network only reads the modules: it is not disposed, so the caller keeps them.
  const model = Network.create(
    [imported.category, imported.task],
    [{ category: imported.category.name, task: imported.task.name }],
  ).model(imported.category.name, imported.task.name);
  let worst = 0;
  // One image at a time: full-size models at batch 1 keep the peak memory of one forward pass.
  for (let i = 0; i < images.shape[0]; i++) {
    const d = tf.tidy(() => {
      const x = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      return tf.max(tf.abs(tf.sub(reference(x), model.predict(x) as tf.Tensor))).dataSync()[0]!;
    });
    worst = Math.max(worst, d);
  }
  return worst;
}

/** The LayersModel check: stock tf.loadLayersModel on the same weights is the reference. */
export async function compareWithOriginal(
  files: LayersModelFiles,
  imported: ImportedModules,
  options: { samples?: number; seed?: number; images?: readonly string[] } = {},
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
  const images = await checkImages(imported.category.ports.input.shape.slice(1) as number[], options);
  try {
    return differenceToReference(imported, (x) => original.predict(x) as tf.Tensor, images);
  } finally {
    images.dispose();
    original.dispose();
  }
}
