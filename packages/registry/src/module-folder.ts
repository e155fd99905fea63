import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TransplantError } from '@transplant/core';
import { bytesSource, fileSource, isBlobSource, type BlobSource } from './blob-source';
import { syncDir, writeTempFrom } from './folder/durable-fs';

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
 * Writes a module folder atomically: both files go into a temporary sibling folder (the weights
 * streamed), which is renamed into place once complete, so an interrupted write or a source
 * that fails its own check (like `Registry.openWeights`) leaves no module folder at all, and
 * an existing one is replaced only by a complete one.
 */
export async function writeModuleFolder(
  path: string,
  module: { manifest: unknown; weights: Uint8Array | BlobSource },
): Promise<void> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const staging = `${target}.tmp-${randomUUID().slice(0, 8)}`;
  await mkdir(staging);
  try {
    const source = isBlobSource(module.weights) ? module.weights : bytesSource(module.weights);
    const weights = await writeTempFrom(staging, source.chunks());
    await rename(weights.path, join(staging, MODULE_FILES.weights));
    await writeFile(join(staging, MODULE_FILES.manifest), `${JSON.stringify(module.manifest, null, 2)}\n`);
    // An existing folder is moved aside first (rename cannot replace a non-empty folder).
    const old = `${target}.old-${randomUUID().slice(0, 8)}`;
    const had = await rename(target, old).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
    await rename(staging, target);
    if (had) await rm(old, { recursive: true, force: true });
    await syncDir(dirname(target));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
