import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '@transplant/core';
import type { Network } from './network';

export const EXPORTED_MODEL_FILES = { topology: 'model.json', weights: 'weights.bin' } as const;

/**
 * Writes one link of a network as a standard TensorFlow.js LayersModel (`model.json` +
 * `weights.bin`, the layout `tensorflowjs_converter` and tfjs-node write), which stock
 * `tf.loadLayersModel` loads. `model.json` is written last, by rename, so a reader never
 * sees a topology without its weights.
 */
export async function exportLayersModel(
  network: Network,
  options: {
    readonly link: { category: string; task: string };
    /** The folder model.json and weights.bin are written into. */
    readonly directory: string;
    /** The tool named in model.json. */
    readonly generatedBy: string;
  },
): Promise<{ files: string[]; bytes: number }> {
  const { link, directory, generatedBy } = options;
  // Layers whose config tfjs cannot write back loadably (an imported TF op graph: save()
  // snake-cases its op names and attributes) are refused, not exported broken.
  const custom = [link.category, link.task].flatMap((name) =>
    network
      .module(name)
      .model.layers.filter((l) => l.getClassName() === 'TransplantTfOp')
      .map(() => name),
  );
  if (custom.length > 0)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${[...new Set(custom)].join(', ')} run an imported TensorFlow graph, which cannot be exported as a LayersModel; use the original GraphModel with tf.loadGraphModel`,
      { operation: 'export' },
    );
  let artifacts: tf.io.ModelArtifacts | undefined;
  await network.model(link.category, link.task).save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts!.weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology: artifacts!.modelTopology,
    weightsManifest: [{ paths: [EXPORTED_MODEL_FILES.weights], weights: artifacts!.weightSpecs }],
  };
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, EXPORTED_MODEL_FILES.weights), weights);
  const temporary = join(directory, `.${EXPORTED_MODEL_FILES.topology}.${process.pid}.tmp`);
  await writeFile(temporary, JSON.stringify(modelJson));
  await rename(temporary, join(directory, EXPORTED_MODEL_FILES.topology));
  return {
    files: [join(directory, EXPORTED_MODEL_FILES.topology), join(directory, EXPORTED_MODEL_FILES.weights)],
    bytes: weights.byteLength,
  };
}
