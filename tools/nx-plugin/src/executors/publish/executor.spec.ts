import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry, FolderStore, moduleFixture, writeModuleFolder } from '@transplant/registry';
import publishExecutor, { PUBLISH_OPTION_KEYS } from './executor';

describe('the registry:publish executor', () => {
  it('has a schema that matches its options type', async () => {
    const schema = JSON.parse(await readFile(new URL('./schema.json', import.meta.url), 'utf8'));
    expect(Object.keys(schema.properties).sort()).toEqual([...PUBLISH_OPTION_KEYS].sort());
    expect(schema.required).toEqual(['module']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('publishes a module folder and reports failure as success: false', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-executor-'));
    await writeModuleFolder(join(dir, 'm'), moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    const registry = join(dir, 'reg');
    // A registry folder that does not exist is refused (E_REGISTRY_NOT_FOUND) unless create is set.
    expect(await publishExecutor({ module: 'm', registry }, { root: dir })).toEqual({ success: false });
    expect(await readdir(dir)).toEqual(['m']);
    expect(await publishExecutor({ module: 'm', registry, create: true }, { root: dir })).toEqual({
      success: true,
    });
    expect((await new Registry(new FolderStore(registry)).resolve('cat-vgg')).version).toBe('1.0.0');
    expect(await publishExecutor({ module: 'm', registry }, { root: dir })).toEqual({ success: false });
    await rm(dir, { recursive: true });
  });
});
