import { bytesSource, digestMismatch, isBlobSource, readAll, type BlobSource } from '../blob-source';
import type { ModuleIndex } from '../module-index';
import type { RegistryStore } from '../store';
import type { RegistryStoreFactory } from '../store-factory';

/** A registry store held in memory, for tests of code that opens registries by location. */
export class MemoryStore implements RegistryStore {
  private readonly blobs = new Map<string, { bytes: Uint8Array; writtenAt: number }>();
  private readonly indexes = new Map<string, ModuleIndex>();

  constructor(readonly location: string) {}

  async putBlob(_name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    if (this.blobs.has(digest)) return;
    const read = await readAll(isBlobSource(data) ? data : bytesSource(data), this.location);
    if (read.digest !== digest)
      throw digestMismatch(this.location, digest, read.digest, read.bytes.byteLength);
    this.blobs.set(digest, { bytes: read.bytes, writtenAt: Date.now() });
  }

  async getBlob(_name: string, digest: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(digest)?.bytes.slice();
  }

  async openBlob(_name: string, digest: string): Promise<BlobSource | undefined> {
    const bytes = this.blobs.get(digest)?.bytes;
    return bytes && bytesSource(bytes.slice());
  }

  async hasBlob(_name: string, digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }

  async listNames(): Promise<string[]> {
    return [...this.indexes.keys()].sort();
  }

  async readIndex(name: string): Promise<ModuleIndex | undefined> {
    const index = this.indexes.get(name);
    return index && structuredClone(index);
  }

  async updateIndex(
    name: string,
    update: (current: ModuleIndex | undefined) => ModuleIndex,
  ): Promise<ModuleIndex> {
    const next = update(await this.readIndex(name));
    this.indexes.set(name, structuredClone(next));
    return next;
  }

  async listBlobs(): Promise<string[]> {
    return [...this.blobs.keys()];
  }

  async deleteBlob(digest: string): Promise<void> {
    this.blobs.delete(digest);
  }

  async blobAgeMs(digest: string): Promise<number | undefined> {
    const blob = this.blobs.get(digest);
    return blob && Date.now() - blob.writtenAt;
  }

  async sweep(): Promise<number> {
    return 0;
  }
}

/** A store factory for `mem://NAME` locations, each opening its one MemoryStore. */
export function memoryStoreFactory(stores = new Map<string, MemoryStore>()): RegistryStoreFactory & {
  readonly stores: Map<string, MemoryStore>;
} {
  return {
    stores,
    locations: 'mem://name',
    accepts: (location) => location.startsWith('mem://'),
    async open(location) {
      let store = stores.get(location);
      if (!store) stores.set(location, (store = new MemoryStore(location)));
      return store;
    },
  };
}
