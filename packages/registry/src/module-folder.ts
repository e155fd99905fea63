import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransplantError } from '@transplant/core';
import { bytesSource, fileSource, isBlobSource, type BlobSource } from './blob-source';
import { writeTempFrom } from './folder/durable-fs';

/** A module on disk, ready to publish: `manifest.json` and `weights.bin` in one folder. */
export const MODULE_FILES = { manifest: 'manifest.json', weights: 'weights.bin' } as const;

function missing(path: string, file: string, cause: unknown): TransplantError {
  return new TransplantError(
    'E_DATA_MISSING_FILE',
    `${join(path, file)} cannot be read (a module folder holds ${MODULE_FILES.manifest} and ${MODULE_FILES.weights})`,
    { module: path, operation: 'readModuleFolder', cause },
  );
}

/**
 * Reads a module folder: the manifest parsed, the weights as a stream over `weights.bin` (never
 * read whole, so a module of any size publishes in O(chunk) memory).
 */
export async function readModuleFolder(path: string): Promise<{ manifest: unknown; weights: BlobSource }> {
  const manifestPath = join(path, MODULE_FILES.manifest);
  const weightsPath = join(path, MODULE_FILES.weights);
  const text = await readFile(manifestPath, 'utf8').catch((cause: unknown) => {
    throw missing(path, MODULE_FILES.manifest, cause);
  });
  const size = await stat(weightsPath).then(
    (s) => s.size,
    (cause: unknown) => {
      throw missing(path, MODULE_FILES.weights, cause);
    },
  );
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new TransplantError('E_MANIFEST_INVALID', `${manifestPath} is not JSON`, {
      module: path,
      operation: 'readModuleFolder',
    });
  }
  return { manifest, weights: fileSource(weightsPath, size) };
}

/**
 * Writes a module folder. The weights are streamed into a temporary file beside their final
 * name and renamed into place when complete, so an interrupted write (or a source that fails
 * its own check, like `Registry.openWeights`) never leaves a truncated `weights.bin`.
 */
export async function writeModuleFolder(
  path: string,
  module: { manifest: unknown; weights: Uint8Array | BlobSource },
): Promise<void> {
  await mkdir(path, { recursive: true });
  const source = isBlobSource(module.weights) ? module.weights : bytesSource(module.weights);
  const tmp = await writeTempFrom(path, source.chunks());
  try {
    await rename(tmp.path, join(path, MODULE_FILES.weights));
  } catch (error) {
    await unlink(tmp.path).catch(() => undefined);
    throw error;
  }
  await writeFile(join(path, MODULE_FILES.manifest), `${JSON.stringify(module.manifest, null, 2)}\n`);
}
