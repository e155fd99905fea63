import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError, selectBackend } from '@transplant/core';
import { readModelFiles } from './model-weights';
import { sequentialFixture, writeModelFiles } from './testing/fixture-models';

/**
 * Links and special files in a model folder (issue 24, item 4): a link whose target lies outside
 * the folder is refused, not followed — even when the target holds exactly the right bytes — and
 * FIFOs, devices and folders are refused before a read could block or never end.
 */
describe('model folders with links and special files', () => {
  let root: string;
  let original: string;
  /** A fresh copy of the model's folder, changed by `change`; its model.json path. */
  let n = 0;
  async function variant(change: (folder: string) => Promise<void>): Promise<string> {
    const folder = join(root, `v${n++}`);
    await mkdir(folder);
    for (const file of ['model.json', 'weights.bin'])
      await copyFile(join(original, file), join(folder, file));
    await change(folder);
    return join(folder, 'model.json');
  }
  async function outcome(path: string): Promise<string> {
    try {
      const files = await readModelFiles(path);
      return `read ${files.weights.length} weights`;
    } catch (error) {
      if (!isTransplantError(error)) throw error;
      return `${error.code}: ${error.message}`;
    }
  }

  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-model-links-'));
    const model = sequentialFixture();
    await writeModelFiles(model, join(root, 'original'));
    model.dispose();
    original = join(root, 'original');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads the model as written, and with links that stay in its folder', async () => {
    const plain = await outcome(join(original, 'model.json'));
    expect(plain).toMatch(/^read \d+ weights$/);
    const inside = await variant(async (folder) => {
      await mkdir(join(folder, 'store'));
      await rename(join(folder, 'weights.bin'), join(folder, 'store', 'w.bin'));
      await symlink('store/w.bin', join(folder, 'weights.bin'));
    });
    expect(await outcome(inside)).toBe(plain);
    // The folder itself reached through a link.
    await symlink(original, join(root, 'linked'));
    expect(await outcome(join(root, 'linked', 'model.json'))).toBe(plain);
  });

  it('refuses a weight shard that links outside the folder, though its bytes are right', async () => {
    for (const target of [join(original, 'weights.bin'), '../original/weights.bin']) {
      const path = await variant(async (folder) => {
        await rm(join(folder, 'weights.bin'));
        await symlink(target, join(folder, 'weights.bin'));
      });
      expect(await outcome(path)).toMatch(
        /^E_IMPORT_MODEL: .*weights\.bin is a link to .*outside its folder/,
      );
    }
  });

  it('refuses a model.json that links outside its folder', async () => {
    const path = await variant(async (folder) => {
      await rm(join(folder, 'model.json'));
      await symlink(join(original, 'model.json'), join(folder, 'model.json'));
    });
    expect(await outcome(path)).toMatch(/^E_IMPORT_MODEL: .*model\.json is a link to .*outside its folder/);
  });

  it('refuses FIFOs and folders in place of the model or a shard at once', async () => {
    const cases = [
      ['weights.bin', 'fifo'],
      ['model.json', 'fifo'],
      ['weights.bin', 'folder'],
      ['model.json', 'folder'],
    ] as const;
    for (const [file, kind] of cases) {
      const path = await variant(async (folder) => {
        await rm(join(folder, file));
        if (kind === 'fifo') execFileSync('mkfifo', [join(folder, file)]);
        else await mkdir(join(folder, file));
      });
      const start = performance.now();
      expect(await outcome(path)).toMatch(/^E_IMPORT_MODEL: .* is not a regular file/);
      expect(performance.now() - start).toBeLessThan(2_000);
    }
  });

  it('refuses a shard linked to a device (it would never end) as outside the folder', async () => {
    const path = await variant(async (folder) => {
      await rm(join(folder, 'weights.bin'));
      await symlink('/dev/zero', join(folder, 'weights.bin'));
    });
    expect(await outcome(path)).toMatch(/^E_IMPORT_MODEL: .*outside its folder/);
  });
});
