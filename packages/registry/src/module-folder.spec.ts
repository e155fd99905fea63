import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { readAll } from './blob-source';
import { MODULE_FILES, readModuleFolder, writeModuleFolder } from './module-folder';

/**
 * Links and special files in a module folder (issue 24, item 4): a link whose target lies
 * outside the folder is refused, not followed; FIFOs, devices and folders are refused before a
 * read could block or never end. Refusals are E_DATA_MISSING_FILE, like unreadable files.
 */
describe('module folders with links and special files', () => {
  let root: string;
  const manifest = { name: 'm', version: '1.0.0' };
  const weights = new Uint8Array([1, 2, 3, 4, 5]);
  let n = 0;
  /** A fresh module folder, changed by `change`. */
  async function variant(change: (folder: string) => Promise<void> = async () => undefined): Promise<string> {
    const folder = join(root, `m${n++}`);
    await writeModuleFolder(folder, { manifest, weights });
    await change(folder);
    return folder;
  }
  async function outcome(folder: string): Promise<string> {
    try {
      const read = await readModuleFolder(folder);
      const { bytes } = await readAll(read.weights, 'weights');
      return `read ${JSON.stringify(read.manifest)} ${Array.from(bytes).join(',')}`;
    } catch (error) {
      if (!isTransplantError(error)) throw error;
      return `${error.code}: ${error.message}`;
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'transplant-module-folder-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads a module folder, with links inside it, and through a linked folder', async () => {
    const plain = await outcome(await variant());
    expect(plain).toBe('read {"name":"m","version":"1.0.0"} 1,2,3,4,5');
    const inside = await variant(async (folder) => {
      await mkdir(join(folder, 'blobs'));
      for (const file of Object.values(MODULE_FILES)) {
        await rename(join(folder, file), join(folder, 'blobs', file));
        await symlink(join('blobs', file), join(folder, file));
      }
    });
    expect(await outcome(inside)).toBe(plain);
    await symlink(inside, join(root, 'linked'));
    expect(await outcome(join(root, 'linked'))).toBe(plain);
  });

  it('refuses a manifest or weights that link outside the folder, whatever they hold', async () => {
    const elsewhere = await variant();
    for (const file of Object.values(MODULE_FILES)) {
      const folder = await variant(async (f) => {
        await rm(join(f, file));
        await symlink(join(elsewhere, file), join(f, file));
      });
      expect(await outcome(folder)).toMatch(
        new RegExp(`^E_DATA_MISSING_FILE: .*${file.replace('.', '\\.')} is a link to .*outside its folder`),
      );
    }
  });

  it('refuses FIFOs and folders in place of either file at once', async () => {
    for (const file of Object.values(MODULE_FILES))
      for (const kind of ['fifo', 'folder']) {
        const folder = await variant(async (f) => {
          await rm(join(f, file));
          if (kind === 'fifo') execFileSync('mkfifo', [join(f, file)]);
          else await mkdir(join(f, file));
        });
        const start = performance.now();
        expect(await outcome(folder)).toMatch(/^E_DATA_MISSING_FILE: .* is not a regular file/);
        expect(performance.now() - start).toBeLessThan(2_000);
      }
  });

  it('refuses weights linked to a device, and still says which file is missing', async () => {
    const device = await variant(async (f) => {
      await rm(join(f, MODULE_FILES.weights));
      await symlink('/dev/zero', join(f, MODULE_FILES.weights));
    });
    expect(await outcome(device)).toMatch(/^E_DATA_MISSING_FILE: .*outside its folder/);
    const noWeights = await variant((f) => rm(join(f, MODULE_FILES.weights)));
    expect(await outcome(noWeights)).toMatch(/weights\.bin cannot be read/);
    const notJson = await variant((f) => writeFile(join(f, MODULE_FILES.manifest), '{'));
    expect(await outcome(notJson)).toMatch(/^E_MANIFEST_INVALID/);
  });
});
