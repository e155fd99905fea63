import { randomUUID } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { storageError } from './errors';

/**
 * Writes a file whole or not at all (a temporary file beside it, then a rename), creating its
 * folder: a full disk or a killed process never leaves half a report. A failure is coded
 * (E_DISK_FULL, or E_INVALID_ARGUMENT naming the path) and leaves no temporary file.
 */
export async function writeFileWhole(
  path: string,
  data: string | Uint8Array,
  operation: string,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw storageError(error, path, {
      operation,
      otherwise: 'choose another folder (e.g. --reports / --out)',
    });
  }
}
