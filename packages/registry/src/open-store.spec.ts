import { describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { FolderStore } from './folder/folder-store';
import { DEFAULT_STORE_FACTORIES, folderStoreFactory, ociStoreFactory, openStore } from './open-store';
import { MemoryStore, memoryStoreFactory } from './testing/memory-store';

describe('openStore: the first store factory that accepts the location', () => {
  it('opens folders, with or without the folder: prefix', async () => {
    const plain = await openStore('/tmp/transplant-open-store', {});
    expect(plain).toBeInstanceOf(FolderStore);
    expect(plain.location).toBe((await openStore('folder:/tmp/transplant-open-store', {})).location);
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
