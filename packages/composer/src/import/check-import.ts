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
  // The modules run the whole batch (at batch > 1, so a graph that only works at batch 1 is
  // caught); the reference runs one image at a time (models converted with a fixed batch of 1).
  const ours = model.predict(images) as tf.Tensor;
  let worst = 0;
  try {
    for (let i = 0; i < images.shape[0]; i++) {
      const d = tf.tidy(() => {
        const x = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        const mine = tf.slice(ours, [i], [1]);
        return tf.max(tf.abs(tf.sub(reference(x), mine))).dataSync()[0]!;
      });
      worst = Math.max(worst, d);
    }
  } finally {
    ours.dispose();
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
  // The stored bytes with their quantisation: stock tfjs decodes them itself.
  const original = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: files.stored.specs,
      weightData: files.stored.data,
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
