import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf, fileSource, readAll, type BlobSource } from '../blob-source';
import { replaceDurablyFrom } from '../folder/durable-fs';
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

  private async cached(digest: string): Promise<BlobSource | undefined> {
    const path = this.path(digest);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    return size === undefined ? undefined : fileSource(path, size);
  }

  /**
   * A verified cached copy, else the remote blob streamed into the cache (renamed into place
   * only when it hashes to `digest`, so only verified bytes enter it) and served from there. A
   * remote blob that does not verify is passed on unchanged for the caller to report.
   */
  async openBlob(name: string, digest: string): Promise<BlobSource | undefined> {
    const hit = await this.cached(digest);
    if (hit && (await digestOf(hit)) === digest) return hit;
    const remote = await this.inner.openBlob(name, digest);
    if (!remote) return undefined;
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    const written = await replaceDurablyFrom(
      join(this.dir, 'tmp'),
      this.path(digest),
      remote.chunks(),
      digest,
    );
    return written.digest === digest ? this.cached(digest) : remote;
  }

  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    const source = await this.openBlob(name, digest);
    return source && (await readAll(source, digest)).bytes;
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    return this.inner.hasBlob(name, digest);
  }

  putBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    return this.inner.putBlob(name, data, digest);
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

  /** The remote store's leftovers, and the cache's own: temporary files of interrupted downloads. */
  async sweep(olderThanMs: number): Promise<number> {
    let removed = await this.inner.sweep(olderThanMs);
    const tmp = join(this.dir, 'tmp');
    for (const f of await readdir(tmp).catch(() => [] as string[])) {
      const s = await stat(join(tmp, f)).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > olderThanMs) {
        await unlink(join(tmp, f)).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }
}
