import { createHash, randomUUID } from 'node:crypto';
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
  } catch (error) {
    // A full disk (or any failed write) leaves no partial temporary file behind.
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await fh.close();
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
 * Streams chunks to a fresh temporary file in `tmpDir`, hashing them on the way, and fsyncs
 * it; returns its path, size and sha256. The caller renames or removes it.
 */
export async function writeTempFrom(
  tmpDir: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ path: string; size: number; digest: string }> {
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `${randomUUID()}.tmp`);
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(path, 'wx');
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      for (let at = 0; at < chunk.byteLength;) {
        const { bytesWritten } = await fh.write(chunk, at, chunk.byteLength - at);
        at += bytesWritten;
      }
      size += chunk.byteLength;
    }
    await fh.sync();
  } catch (error) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await fh.close();
  return { path, size, digest: `sha256:${hash.digest('hex')}` };
}

/**
 * Streams chunks into `path` atomically, but only if they hash to `digest`: the temporary file
 * is checked before the rename and removed on a mismatch, so a wrong or interrupted write
 * leaves `path` as it was. Returns the digest the bytes actually had.
 */
export async function replaceDurablyFrom(
  tmpDir: string,
  path: string,
  chunks: AsyncIterable<Uint8Array>,
  digest: string,
): Promise<{ size: number; digest: string }> {
  const tmp = await writeTempFrom(tmpDir, chunks);
  if (tmp.digest !== digest) {
    await unlink(tmp.path);
    return { size: tmp.size, digest: tmp.digest };
  }
  try {
    await mkdir(dirname(path), { recursive: true });
    await rename(tmp.path, path);
  } catch (error) {
    await unlink(tmp.path).catch(() => undefined);
    throw error;
  }
  await syncDir(dirname(path));
  return { size: tmp.size, digest: tmp.digest };
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
