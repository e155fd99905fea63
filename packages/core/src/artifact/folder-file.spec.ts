import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransplantError } from '../errors';
import { checkFolderFile, readFolderFile, type FolderFileRules } from './folder-file';

describe('files of a model or module folder', () => {
  let root: string;
  let folder: string;
  const rules = (maxBytes = 1_000): FolderFileRules => ({
    folder,
    maxBytes,
    refuse: (detail, cause) => new TransplantError('E_IMPORT_MODEL', detail, { cause }),
  });
  /** The refusal's message, or 'read' / 'absent'. */
  async function outcome(file: string, max?: number): Promise<string> {
    try {
      const bytes = await readFolderFile(join(folder, file), rules(max));
      const checked = await checkFolderFile(join(folder, file), rules(max));
      expect(checked?.size).toBe(bytes?.byteLength);
      return bytes === undefined ? 'absent' : `read ${Buffer.from(bytes).toString()}`;
    } catch (error) {
      expect(error).toBeInstanceOf(TransplantError);
      expect((error as TransplantError).code).toBe('E_IMPORT_MODEL');
      return (error as Error).message;
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'transplant-folder-file-'));
    folder = join(root, 'model');
    await mkdir(join(folder, 'sub'), { recursive: true });
    await writeFile(join(root, 'secret.bin'), 'secret');
    await writeFile(join(folder, 'own.bin'), 'own');
    await writeFile(join(folder, 'sub', 'deeper.bin'), 'deeper');
    await symlink(join(root, 'secret.bin'), join(folder, 'out.bin'));
    await symlink('../secret.bin', join(folder, 'out-relative.bin'));
    await symlink('own.bin', join(folder, 'in.bin'));
    await symlink('sub/deeper.bin', join(folder, 'in-sub.bin'));
    await symlink(root, join(folder, 'up'));
    await symlink(join(root, 'gone.bin'), join(folder, 'dangling.bin'));
    await symlink('loop-b', join(folder, 'loop-a'));
    await symlink('loop-a', join(folder, 'loop-b'));
    execFileSync('mkfifo', [join(folder, 'fifo.bin')]);
    await symlink(root, join(root, 'model-link'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads regular files and links that stay inside the folder', async () => {
    expect(await outcome('own.bin')).toBe('read own');
    expect(await outcome('in.bin')).toBe('read own');
    expect(await outcome('in-sub.bin')).toBe('read deeper');
    expect(await outcome('missing.bin')).toBe('absent');
    expect(await outcome('dangling.bin')).toBe('absent');
  });

  it('refuses links out of the folder, absolute, relative or through a linked folder', async () => {
    for (const file of ['out.bin', 'out-relative.bin', join('up', 'secret.bin')])
      expect(await outcome(file)).toMatch(/outside its folder/);
  });

  it('refuses FIFOs, folders and link loops at once, and files over the limit unread', async () => {
    const start = performance.now();
    expect(await outcome('fifo.bin')).toMatch(/not a regular file/);
    expect(performance.now() - start).toBeLessThan(1_000);
    expect(await outcome('sub')).toMatch(/not a regular file/);
    expect(await outcome('loop-a')).toMatch(/cannot be resolved \(ELOOP\)/);
    expect(await outcome('own.bin', 2)).toMatch(/holds 3 bytes, more than the 2 allowed/);
  });

  it('refuses a device in the folder itself (/dev/zero in /dev), unread', async () => {
    const device: FolderFileRules = { ...rules(), folder: '/dev' };
    const start = performance.now();
    await expect(readFolderFile('/dev/zero', device)).rejects.toThrow(/not a regular file/);
    await expect(checkFolderFile('/dev/null', device)).rejects.toThrow(/not a regular file/);
    expect(performance.now() - start).toBeLessThan(1_000);
  });

  it('accepts a folder that is itself reached through a link', async () => {
    const linked: FolderFileRules = { ...rules(), folder: join(root, 'model-link', 'model') };
    const bytes = await readFolderFile(join(root, 'model-link', 'model', 'in.bin'), linked);
    expect(Buffer.from(bytes!).toString()).toBe('own');
  });
});
