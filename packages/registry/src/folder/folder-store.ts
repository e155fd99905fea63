import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TransplantError, isModuleName, storageError } from '@transplant/core';
import {
  bytesSource,
  digestMismatch,
  digestOf,
  fileSource,
  isBlobSource,
  readAll,
  type BlobSource,
} from '../blob-source';
import { parseIndex, type ModuleIndex } from '../module-index';
import type { RegistryStore } from '../store';
import { createDurably, replaceDurablyFrom } from './durable-fs';

const MARKER = 'transplant-registry.json';
const INDEX_FILE = /^index\.(\d{10})\.json$/;
const HEX = /^[0-9a-f]{64}$/;

const indexFile = (seq: number) => `index.${String(seq).padStart(10, '0')}.json`;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * The folder store (the embedded default registry):
 *
 *   transplant-registry.json            marker and format version
 *   blobs/sha256/<hex>                  content-addressed blobs (manifests and weights)
 *   modules/<name>/index.<seq>.json     revisions of the module's index; the highest is current
 *   tmp/                                temporary files of writes in progress
 *
 * Index updates are optimistic and lock-free: a writer reads revision N, writes N+1 to a
 * temporary file, fsyncs it and hard-links it into place, which fails if another writer made
 * N+1 first (then it re-reads and retries). A killed writer leaves at most a temporary file,
 * never a half-written revision and never a lock that others must wait out.
 */
export class FolderStore implements RegistryStore {
  readonly location: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = `folder:${this.root}`;
  }

  private blobPath(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    if (!digest.startsWith('sha256:') || !HEX.test(hex)) {
      throw new TransplantError('E_REGISTRY_CORRUPT', `"${digest}" is not a sha256 digest`, {
        operation: 'blobPath',
      });
    }
    return join(this.root, 'blobs', 'sha256', hex);
  }

  private get tmp(): string {
    return join(this.root, 'tmp');
  }

  private laidOut = false;

  /**
   * Throws E_REGISTRY_NOT_FOUND unless the root is an existing folder: a location that does not
   * exist is a mistake to report, not an empty registry. Creates nothing.
   */
  async assertExists(): Promise<void> {
    const s = await stat(this.root).catch((error: unknown) =>
      isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR'
        ? undefined
        : Promise.reject(error),
    );
    if (s?.isDirectory()) return;
    throw new TransplantError(
      'E_REGISTRY_NOT_FOUND',
      s ? `${this.root} is a file, not a registry folder` : `${this.root} does not exist`,
      { module: this.location, operation: 'openStore' },
    );
  }

  /**
   * Makes the root an empty registry (`transplant registry init`): the layout and its marker.
   * An existing registry is left as it is; a folder that holds other files is refused, so that
   * a registry is never laid out over something else by mistake.
   */
  async init(): Promise<'created' | 'exists'> {
    if (await stat(join(this.root, MARKER)).catch(() => undefined)) {
      await this.ensureLayout();
      return 'exists';
    }
    const entries = await readdir(this.root).catch((error: unknown) =>
      isMissing(error) ? [] : Promise.reject(error),
    );
    if (entries.length > 0) {
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `${this.root} is a folder with other files in it (no ${MARKER}); choose an empty or new folder`,
        { module: this.location, operation: 'init' },
      );
    }
    await this.ensureLayout();
    return 'created';
  }

  private async ensureLayout(): Promise<void> {
    if (this.laidOut) return;
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.root, 'modules'), { recursive: true });
    await mkdir(this.tmp, { recursive: true });
    const markerPath = join(this.root, MARKER);
    if (!(await stat(markerPath).catch(() => undefined))) {
      const marker = new TextEncoder().encode(
        `${JSON.stringify({ format: 'transplant.registry', formatVersion: 1 }, null, 2)}\n`,
      );
      await createDurably(this.tmp, markerPath, marker);
    }
    this.laidOut = true;
  }

  /**
   * Streams the bytes into a temporary file, hashing them, and renames it into place only if
   * they match `digest`. A blob already present intact is kept (hashed by streaming); a damaged
   * one is replaced.
   */
  async putBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    try {
      await this.writeBlob(name, data, digest);
    } catch (error) {
      throw storageError(error, `a blob into ${this.location}`, { operation: 'publish', module: name });
    }
  }

  private async writeBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    await this.ensureLayout();
    const path = this.blobPath(digest);
    const source = isBlobSource(data) ? data : bytesSource(data);
    const existing = await this.openBlob(name, digest);
    // A blob removed (by gc) while it is hashed reads as absent: it is written again.
    if (existing && existing.size === source.size && (await digestOf(existing).catch(() => '')) === digest)
      return;
    const written = await replaceDurablyFrom(this.tmp, path, source.chunks(), digest);
    if (written.digest !== digest) throw digestMismatch(this.location, digest, written.digest, written.size);
  }

  async openBlob(_name: string, digest: string): Promise<BlobSource | undefined> {
    const path = this.blobPath(digest);
    try {
      return fileSource(path, (await stat(path)).size);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    const source = await this.openBlob(name, digest);
    return source && (await readAll(source, digest)).bytes;
  }

  async hasBlob(_name: string, digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      () => true,
      (error: unknown) => (isMissing(error) ? false : Promise.reject(error)),
    );
  }

  async listNames(): Promise<string[]> {
    try {
      return (await readdir(join(this.root, 'modules'))).filter(isModuleName).sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  private async revisions(name: string): Promise<number[]> {
    try {
      const files = await readdir(join(this.root, 'modules', name));
      return files
        .flatMap((f) => {
          const m = INDEX_FILE.exec(f);
          return m ? [Number(m[1])] : [];
        })
        .sort((a, b) => a - b);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  private async readCurrent(name: string): Promise<{ seq: number; index: ModuleIndex | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const seqs = await this.revisions(name);
      const seq = seqs.at(-1) ?? 0;
      if (seq === 0) return { seq, index: undefined };
      const file = join(this.root, 'modules', name, indexFile(seq));
      try {
        const text = await readFile(file, 'utf8');
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          throw new TransplantError('E_REGISTRY_CORRUPT', `${file} is not JSON`, {
            module: name,
            operation: 'readIndex',
          });
        }
        return { seq, index: parseIndex(raw, name, file) };
      } catch (error) {
        // Compaction may remove an old revision between readdir and read: look again.
        if (isMissing(error) && attempt < 5) continue;
        throw error;
      }
    }
  }

  async readIndex(name: string): Promise<ModuleIndex | undefined> {
    return (await this.readCurrent(name)).index;
  }

  async updateIndex(
    name: string,
    update: (current: ModuleIndex | undefined) => ModuleIndex,
  ): Promise<ModuleIndex> {
    try {
      return await this.commitIndex(name, update);
    } catch (error) {
      throw storageError(error, `the index of ${name} in ${this.location}`, {
        operation: 'publish',
        module: name,
      });
    }
  }

  private async commitIndex(
    name: string,
    update: (current: ModuleIndex | undefined) => ModuleIndex,
  ): Promise<ModuleIndex> {
    if (!isModuleName(name))
      throw new TransplantError('E_MODULE_REF_INVALID', `"${name}" is not a module name`, {
        operation: 'updateIndex',
      });
    await this.ensureLayout();
    for (let attempt = 0; attempt < 2000; attempt++) {
      const { seq, index } = await this.readCurrent(name);
      const next = update(index);
      const bytes = new TextEncoder().encode(`${JSON.stringify(next, null, 2)}\n`);
      if (await createDurably(this.tmp, join(this.root, 'modules', name, indexFile(seq + 1)), bytes))
        return next;
      // Another writer committed revision seq + 1 first: back off a little and retry on it.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + attempt)));
    }
    throw new TransplantError(
      'E_LOCK_TIMEOUT',
      `could not commit an index update of ${name} after 2000 attempts`,
      { module: name, operation: 'updateIndex' },
    );
  }

  async listBlobs(): Promise<string[]> {
    try {
      return (await readdir(join(this.root, 'blobs', 'sha256')))
        .filter((f) => HEX.test(f))
        .map((f) => `sha256:${f}`);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  async deleteBlob(digest: string): Promise<void> {
    await unlink(this.blobPath(digest)).catch((error: unknown) =>
      isMissing(error) ? undefined : Promise.reject(error),
    );
  }

  async blobAgeMs(digest: string): Promise<number | undefined> {
    const s = await stat(this.blobPath(digest)).catch(() => undefined);
    return s ? Date.now() - s.mtimeMs : undefined;
  }

  /**
   * Removes temporary files and superseded index revisions (all but the last two) older than
   * `olderThanMs`. The age guard matters: a writer that read revision N creates N+1, so N+1
   * must not be freed while such a writer could still be running.
   */
  async sweep(olderThanMs: number): Promise<number> {
    let removed = 0;
    const now = Date.now();
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) {
      const path = join(this.tmp, f);
      const s = await stat(path).catch(() => undefined);
      if (s && now - s.mtimeMs > olderThanMs) {
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
    for (const name of await this.listNames()) {
      for (const seq of (await this.revisions(name)).slice(0, -2)) {
        const path = join(this.root, 'modules', name, indexFile(seq));
        const s = await stat(path).catch(() => undefined);
        if (!s || now - s.mtimeMs <= olderThanMs) continue;
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }
}
