import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '@transplant/core';
import { replaceDurably } from '../folder/durable-fs';
import type { ModuleIndex } from '../module-index';
import type { RegistryStore } from '../store';

/**
 * A client-side cache of blobs by digest in front of a remote store: blobs never change, so a
 * verified cached copy is as good as the registry's, and with a lockfile (which pins the
 * digests) a run needs no registry at all.
 */
export class CachedStore implements RegistryStore {
  readonly location: string;

  constructor(
    private readonly inner: RegistryStore,
    private readonly dir: string,
  ) {
    this.location = inner.location;
  }

  private path(digest: string): string {
    return join(this.dir, 'blobs', digest.replace(':', '-'));
  }

  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    const cached = await readFile(this.path(digest)).catch(() => undefined);
    if (cached && sha256Digest(cached) === digest) return new Uint8Array(cached);
    const bytes = await this.inner.getBlob(name, digest);
    // Only verified bytes enter the cache; a bad read is returned for the caller to report.
    if (bytes && sha256Digest(bytes) === digest) {
      await mkdir(join(this.dir, 'blobs'), { recursive: true });
      await replaceDurably(join(this.dir, 'tmp'), this.path(digest), bytes);
    }
    return bytes;
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    return this.inner.hasBlob(name, digest);
  }

  putBlob(name: string, bytes: Uint8Array, digest: string): Promise<void> {
    return this.inner.putBlob(name, bytes, digest);
  }

  listNames(): Promise<string[]> {
    return this.inner.listNames();
  }

  readIndex(name: string): Promise<ModuleIndex | undefined> {
    return this.inner.readIndex(name);
  }

  updateIndex(name: string, update: (current: ModuleIndex | undefined) => ModuleIndex): Promise<ModuleIndex> {
    return this.inner.updateIndex(name, update);
  }

  listBlobs(): Promise<string[] | undefined> {
    return this.inner.listBlobs();
  }

  deleteBlob(digest: string): Promise<void> {
    return this.inner.deleteBlob(digest);
  }

  blobAgeMs(digest: string): Promise<number | undefined> {
    return this.inner.blobAgeMs(digest);
  }

  sweep(olderThanMs: number): Promise<number> {
    return this.inner.sweep(olderThanMs);
  }
}
