import { execFileSync } from 'node:child_process';
import { copyFile, link, mkdir, rename, rm, symlink, truncate } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Pick } from './fuzz';

/**
 * What a fuzz case can put in place of a file of a model or module folder, on disk:
 *
 * - `fifo`, `folder`: a FIFO (a read would wait for a writer) or a folder;
 * - `link-outside`: a link to a copy of the file outside the folder (the right bytes, refused
 *   for where they are); `link-device`: a link to /dev/zero (a read never ends);
 * - `link-dangling`, `link-loop`: a link to nothing, a link to itself;
 * - `link-inside`: the file moved to another name in the folder and linked (must read the same);
 * - `sparse-huge`: the file extended to 16 GiB without using the disk (a size check must refuse
 *   it unread, or a streaming reader take it).
 */
export const FILE_SWAPS = [
  'fifo',
  'folder',
  'link-outside',
  'link-device',
  'link-dangling',
  'link-loop',
  'link-inside',
  'sparse-huge',
] as const;
export type FileSwap = (typeof FILE_SWAPS)[number];

/** A folder for what `swapFile` puts outside the folders it changes, with a FIFO to link to. */
export async function swapSupport(root: string): Promise<{ outside: string; fifo: string }> {
  const outside = join(root, 'outside');
  await mkdir(outside, { recursive: true });
  const fifo = join(outside, 'fifo');
  // One FIFO, hard-linked into place per case (mkfifo is a process; link is a system call).
  execFileSync('mkfifo', [fifo]);
  return { outside, fifo };
}

let copies = 0;

/** Puts `swap` in place of `file` (an existing regular file). */
export async function swapFile(
  file: string,
  swap: FileSwap,
  support: { outside: string; fifo: string },
): Promise<void> {
  switch (swap) {
    case 'fifo':
      await rm(file);
      await link(support.fifo, file);
      break;
    case 'folder':
      await rm(file);
      await mkdir(file);
      break;
    case 'link-outside': {
      const copy = join(support.outside, `copy-${copies++}-${basename(file)}`);
      await copyFile(file, copy);
      await rm(file);
      await symlink(copy, file);
      break;
    }
    case 'link-device':
      await rm(file);
      await symlink('/dev/zero', file);
      break;
    case 'link-dangling':
      await rm(file);
      await symlink(join(support.outside, 'nothing-here'), file);
      break;
    case 'link-loop':
      await rm(file);
      await symlink(basename(file), file);
      break;
    case 'link-inside': {
      await mkdir(join(dirname(file), 'real'), { recursive: true });
      await rename(file, join(dirname(file), 'real', basename(file)));
      await symlink(join('real', basename(file)), file);
      break;
    }
    case 'sparse-huge':
      await truncate(file, 2 ** 34);
      break;
  }
}

/** Bytes cut short, extended (zeros, 0xff or random bytes), or with a few bytes changed. */
export function mutateBytes(bytes: Uint8Array, pick: Pick): Uint8Array {
  switch (pick(3)) {
    case 0:
      return bytes.slice(0, pick(bytes.length));
    case 1: {
      const fill = [0, 0xff, -1][pick(3)]!;
      return new Uint8Array(bytes.length + 1 + pick(256)).map((_, i) =>
        i < bytes.length ? bytes[i]! : fill < 0 ? pick(256) : fill,
      );
    }
    default: {
      const out = Uint8Array.from(bytes);
      for (let n = 1 + pick(4); n > 0 && out.length > 0; n--) out[pick(out.length)] = pick(256);
      return out;
    }
  }
}
