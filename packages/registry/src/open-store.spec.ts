import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { FolderStore } from './folder/folder-store';
import { DEFAULT_STORE_FACTORIES, folderStoreFactory, ociStoreFactory, openStore } from './open-store';
import { Registry } from './registry';
import { moduleFixture } from './testing/module-fixture';
import { MemoryStore, memoryStoreFactory } from './testing/memory-store';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'transplant-open-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (!isTransplantError(error)) throw error;
    return error.code;
  }
}

describe('openStore: the first store factory that accepts the location', () => {
  it('opens folders, with or without the folder: prefix', async () => {
    const plain = await openStore(dir, {});
    expect(plain).toBeInstanceOf(FolderStore);
    expect(plain.location).toBe((await openStore(`folder:${dir}`, {})).location);
  });

  it('sends oci:// to the OCI store and nothing else there', () => {
    expect(DEFAULT_STORE_FACTORIES).toEqual([ociStoreFactory, folderStoreFactory]);
    expect(ociStoreFactory.accepts('oci://localhost:5000/zoo')).toBe(true);
    expect(folderStoreFactory.accepts('oci://localhost:5000/zoo')).toBe(false);
    expect(ociStoreFactory.accepts('/srv/registry')).toBe(false);
  });

  it('refuses a location no factory accepts, naming the ones it knows', async () => {
    let error: unknown;
    try {
      await openStore('mem://zoo', {});
    } catch (caught) {
      error = caught;
    }
    expect(isTransplantError(error, 'E_REGISTRY_UNREACHABLE')).toBe(true);
    expect(String(error)).toContain('oci://host[:port]/namespace, a folder path');
  });

  it('opens what an added factory accepts', async () => {
    const factories = [...DEFAULT_STORE_FACTORIES, memoryStoreFactory()];
    const store = await openStore('mem://zoo', {}, factories);
    expect(store).toBeInstanceOf(MemoryStore);
    expect(await openStore('mem://zoo', {}, factories)).toBe(store);
  });
});

describe('a folder registry that does not exist', () => {
  it('is E_REGISTRY_NOT_FOUND for every read, and nothing is created', async () => {
    const missing = join(dir, 'typo', 'registry');
    expect(await codeOf(openStore(missing, {}))).toBe('E_REGISTRY_NOT_FOUND');
    expect(await codeOf(openStore(`folder:${missing}`, {}))).toBe('E_REGISTRY_NOT_FOUND');
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    expect(await codeOf(openStore(file, {}))).toBe('E_REGISTRY_NOT_FOUND');
    expect(await codeOf(openStore(join(file, 'below'), {}))).toBe('E_REGISTRY_NOT_FOUND');
    expect(await readdir(dir)).toEqual(['a-file']);
    await rm(file);
  });

  it('says what to do: init or --create', async () => {
    const error = await openStore(join(dir, 'nope'), {}).catch((e: unknown) => e);
    expect(String(error)).toContain('does not exist');
    expect(String(error)).toContain('transplant registry init');
    expect(String(error)).toContain('--create');
  });

  it('is created by the first write when opened with create, and not by reads', async () => {
    const location = join(dir, 'new');
    const registry = new Registry(await openStore(location, {}, undefined, { create: true }));
    expect(await registry.store.listNames()).toEqual([]);
    expect(await readdir(dir)).not.toContain('new');
    await registry.publish(moduleFixture({ name: 'cat-vgg', version: '1.0.0' }));
    const reopened = new Registry(await openStore(location, {}));
    expect((await reopened.resolve('cat-vgg@1')).version).toBe('1.0.0');
  });

  it('init makes an empty, valid registry; again it is a no-op; a folder of other files is refused', async () => {
    const location = join(dir, 'fresh');
    const store = (await openStore(location, {}, undefined, { create: true })) as FolderStore;
    expect(await store.init()).toBe('created');
    expect((await readdir(location)).sort()).toEqual(['blobs', 'modules', 'tmp', 'transplant-registry.json']);
    const registry = new Registry(await openStore(location, {}));
    expect(await registry.store.listNames()).toEqual([]);
    expect((await registry.verify()).problems).toEqual([]);
    expect(await store.init()).toBe('exists');
    const photos = await mkdtemp(join(dir, 'photos-'));
    await writeFile(join(photos, 'cat.jpg'), 'x');
    const notRegistry = (await openStore(photos, {})) as FolderStore;
    expect(await codeOf(notRegistry.init())).toBe('E_INVALID_ARGUMENT');
    expect(await readdir(photos)).toEqual(['cat.jpg']);
  });
});
