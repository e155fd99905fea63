import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink, link } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** fsync a directory, so that a rename or link in it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes bytes to a fresh temporary file in `tmpDir` and fsyncs it; returns its path. */
export async function writeTemp(tmpDir: string, bytes: Uint8Array): Promise<string> {
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `${randomUUID()}.tmp`);
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return path;
}

/** Atomically places bytes at `path`, replacing it (temp file + fsync + rename + dir fsync). */
export async function replaceDurably(tmpDir: string, path: string, bytes: Uint8Array): Promise<void> {
  const tmp = await writeTemp(tmpDir, bytes);
  await mkdir(dirname(path), { recursive: true });
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/**
 * Atomically creates `path` with bytes, failing with EEXIST if it exists: the file appears
 * complete or not at all (temp file + fsync + link, which never replaces).
 */
export async function createDurably(tmpDir: string, path: string, bytes: Uint8Array): Promise<boolean> {
  const tmp = await writeTemp(tmpDir, bytes);
  await mkdir(dirname(path), { recursive: true });
  try {
    await link(tmp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp);
  }
  await syncDir(dirname(path));
  return true;
}
