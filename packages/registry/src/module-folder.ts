import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransplantError } from '@transplant/core';

/** A module on disk, ready to publish: `manifest.json` and `weights.bin` in one folder. */
export const MODULE_FILES = { manifest: 'manifest.json', weights: 'weights.bin' } as const;

export async function readModuleFolder(path: string): Promise<{ manifest: unknown; weights: Uint8Array }> {
  const read = async (file: string) => {
    try {
      return await readFile(join(path, file));
    } catch (cause) {
      throw new TransplantError(
        'E_DATA_MISSING_FILE',
        `${join(path, file)} cannot be read (a module folder holds ${MODULE_FILES.manifest} and ${MODULE_FILES.weights})`,
        {
          module: path,
          operation: 'readModuleFolder',
          cause,
        },
      );
    }
  };
  const text = (await read(MODULE_FILES.manifest)).toString('utf8');
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new TransplantError('E_MANIFEST_INVALID', `${join(path, MODULE_FILES.manifest)} is not JSON`, {
      module: path,
      operation: 'readModuleFolder',
    });
  }
  return { manifest, weights: new Uint8Array(await read(MODULE_FILES.weights)) };
}

export async function writeModuleFolder(
  path: string,
  module: { manifest: unknown; weights: Uint8Array },
): Promise<void> {
  await mkdir(path, { recursive: true });
  await writeFile(join(path, MODULE_FILES.manifest), `${JSON.stringify(module.manifest, null, 2)}\n`);
  await writeFile(join(path, MODULE_FILES.weights), module.weights);
}
