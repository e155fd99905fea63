import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { isTransplantError, type TransplantError } from '../errors';

/**
 * Files of a model or module folder, read only when they are what they claim to be: the file,
 * after every symbolic link is resolved, lies inside the folder (itself resolved, so a folder
 * reached through a link is fine), and is a regular file — not a FIFO (whose read would wait
 * forever), a device (whose read never ends), a socket or a folder — no larger than its limit.
 * All of it is checked before a byte is read; a refusal is the caller's coded error.
 */
export interface FolderFileRules {
  /** The folder the file must stay inside. */
  readonly folder: string;
  /** The largest size accepted (refused unread). */
  readonly maxBytes: number;
  /** What the limit is, for the message (default "allowed"): "its manifest group describes". */
  readonly limitIs?: string;
  /** The coded error for a refusal, given what is wrong. */
  readonly refuse: (detail: string, cause?: unknown) => TransplantError;
}

/** A checked file: its real path (no links left in it) and its size. */
export interface FolderFile {
  readonly path: string;
  readonly size: number;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// Opening a FIFO for reading waits for a writer unless non-blocking.
const NONBLOCK = constants.O_NONBLOCK ?? 0;

function inside(folder: string, file: string): boolean {
  const rel = relative(folder, file);
  return rel !== '' && !isAbsolute(rel) && rel.split(sep)[0] !== '..';
}

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;

/** The file's real path, after checking it stays in the folder; undefined when it does not exist. */
async function resolveInside(file: string, rules: FolderFileRules): Promise<string | undefined> {
  let real: string;
  let folder: string;
  try {
    folder = await realpath(rules.folder);
    real = await realpath(file);
  } catch (error) {
    // Absent (a dangling link included): the caller says what is missing.
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return undefined;
    throw rules.refuse(`${file} cannot be resolved (${errno(error) ?? String(error)})`, error);
  }
  if (!inside(folder, real)) throw rules.refuse(`${file} is a link to ${real}, outside its folder ${folder}`);
  return real;
}

function checkStats(file: string, s: { isFile(): boolean; size: number }, rules: FolderFileRules): void {
  if (!s.isFile())
    throw rules.refuse(`${file} is not a regular file (a folder, FIFO, socket or device cannot be read)`);
  if (s.size > rules.maxBytes)
    throw rules.refuse(
      `${file} holds ${s.size} bytes, more than the ${rules.maxBytes} ${rules.limitIs ?? 'allowed'}`,
    );
}

/**
 * Checks a folder's file without reading it (for a file read later, streamed): its real path and
 * size, or undefined when there is no such file.
 */
export async function checkFolderFile(file: string, rules: FolderFileRules): Promise<FolderFile | undefined> {
  const real = await resolveInside(file, rules);
  if (real === undefined) return undefined;
  const s = await stat(real).catch((error: unknown) => {
    throw rules.refuse(`${file} cannot be read (${errno(error) ?? String(error)})`, error);
  });
  checkStats(file, s, rules);
  return { path: real, size: s.size };
}

/**
 * Reads a folder's file whole, checked first (see `FolderFileRules`); undefined when there is
 * no such file. The checks apply to the opened file itself (fstat), so a file swapped after the
 * check is not read unchecked.
 */
export async function readFolderFile(file: string, rules: FolderFileRules): Promise<Uint8Array | undefined> {
  const real = await resolveInside(file, rules);
  if (real === undefined) return undefined;
  const failed = (error: unknown) =>
    rules.refuse(`${file} cannot be read (${errno(error) ?? String(error)})`, error);
  const handle = await open(real, constants.O_RDONLY | NOFOLLOW | NONBLOCK).catch((error: unknown) => {
    throw failed(error);
  });
  try {
    const s = await handle.stat();
    checkStats(file, s, rules);
    const bytes = new Uint8Array(s.size);
    let at = 0;
    while (at < bytes.byteLength) {
      const { bytesRead } = await handle.read(bytes, at, bytes.byteLength - at, at);
      if (bytesRead === 0) throw rules.refuse(`${file} shrank while it was read`);
      at += bytesRead;
    }
    return bytes;
  } catch (error) {
    throw isTransplantError(error) ? error : failed(error);
  } finally {
    await handle.close();
  }
}
