import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { TransplantError, checkFolderFile, readFolderFile, type FolderFileRules } from '@transplant/core';
import { bytesSource, fileSource, isBlobSource, type BlobSource } from './blob-source';
import { syncDir, writeTempFrom } from './folder/durable-fs';

/** A module on disk, ready to publish: `manifest.json` and `weights.bin` in one folder. */
export const MODULE_FILES = { manifest: 'manifest.json', weights: 'weights.bin' } as const;

function missing(path: string, file: string, cause?: unknown): TransplantError {
  return new TransplantError(
    'E_DATA_MISSING_FILE',
    `${join(path, file)} cannot be read (a module folder holds ${MODULE_FILES.manifest} and ${MODULE_FILES.weights})`,
    { module: path, operation: 'readModuleFolder', cause },
  );
}

/** The most bytes a module's manifest.json may hold (refused unread); the weights are streamed. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * The checks on a module folder's files before anything is read: inside the folder once links
 * are resolved (a link out of it is refused, not followed), regular files (a FIFO would block
 * the read, a device never end it), the manifest at most MAX_MANIFEST_BYTES. A refused file is
 * E_DATA_MISSING_FILE, like one that cannot be read.
 */
function folderRules(path: string, maxBytes: number): FolderFileRules {
  return {
    folder: path,
    maxBytes,
    refuse: (detail, cause) =>
      new TransplantError(
        'E_DATA_MISSING_FILE',
        `${detail}; a module folder holds ${MODULE_FILES.manifest} and ${MODULE_FILES.weights} as regular files`,
        {
          module: path,
          operation: 'readModuleFolder',
          cause,
        },
      ),
  };
}

/**
 * Reads a module folder: the manifest parsed, the weights as a stream over `weights.bin` (never
 * read whole, so a module of any size publishes in O(chunk) memory). Both files are checked
 * first (see `folderRules`); the stream reads the weights' real path, not a link.
 */
export async function readModuleFolder(path: string): Promise<{ manifest: unknown; weights: BlobSource }> {
  const manifestPath = join(path, MODULE_FILES.manifest);
  const weightsPath = join(path, MODULE_FILES.weights);
  const bytes = await readFolderFile(manifestPath, folderRules(path, MAX_MANIFEST_BYTES));
  if (bytes === undefined) throw missing(path, MODULE_FILES.manifest);
  const weights = await checkFolderFile(weightsPath, folderRules(path, Number.MAX_SAFE_INTEGER));
  if (weights === undefined) throw missing(path, MODULE_FILES.weights);
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new TransplantError('E_MANIFEST_INVALID', `${manifestPath} is not JSON`, {
      module: path,
      operation: 'readModuleFolder',
    });
  }
  return { manifest, weights: fileSource(weights.path, weights.size) };
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
