import { TransplantError } from '@transplant/core';
import type { BlobSource } from '../blob-source';
import { canonicalJson } from '../canonical-json';
import { emptyIndex, withLatest, type ModuleIndex, type VersionEntry } from '../module-index';
import type { RegistryStore } from '../store';

function readOnly(lower: RegistryStore, what: string, operation: string, name?: string): TransplantError {
  return new TransplantError('E_REGISTRY_READ_ONLY', `${what} is in ${lower.location}, which is read-only`, {
    ...(name ? { module: name } : {}),
    operation,
  });
}

const same = (a: VersionEntry, b: VersionEntry) => canonicalJson(a) === canonicalJson(b);

/**
 * The index a reader sees: the lower store's versions with the upper store's on top (a version
 * recorded in both — the read-only registry gained it after it was published above — reads as
 * the upper's), `latest` recomputed over them all.
 */
export function mergeIndexes(
  name: string,
  lower: ModuleIndex | undefined,
  upper: ModuleIndex | undefined,
): ModuleIndex | undefined {
  if (!lower) return upper;
  if (!upper) return lower;
  return withLatest({
    ...emptyIndex(name),
    versions: { ...lower.versions, ...upper.versions },
    distTags: { ...lower.distTags, ...upper.distTags },
  });
}

/**
 * A writable registry store read through to a read-only one (the installed CLI's default: the
 * user's registry over the model zoo package, docs/install.md). Reads — names, indexes, blobs —
 * see both, the writable one first; every write goes to the writable one, and none ever touches
 * the read-only one. Publishing checks the merged index, so a version the read-only registry
 * holds is never published again (E_VERSION_EXISTS) and the next free version counts both. A
 * change to a read-only version (a yank, an attachment) is recorded as that version's entry in
 * the writable index, which then reads in its place; its blobs stay where they are.
 */
export class LayeredStore implements RegistryStore {
  readonly location: string;

  constructor(
    readonly upper: RegistryStore,
    readonly lower: RegistryStore,
  ) {
    this.location = `${upper.location} over ${lower.location}`;
  }

  async putBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    // A blob the read-only registry holds is already there for every reader.
    if (await this.lower.hasBlob(name, digest)) return;
    await this.upper.putBlob(name, data, digest);
  }

  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    return (await this.upper.getBlob(name, digest)) ?? (await this.lower.getBlob(name, digest));
  }

  async openBlob(name: string, digest: string): Promise<BlobSource | undefined> {
    return (await this.upper.openBlob(name, digest)) ?? (await this.lower.openBlob(name, digest));
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    return (await this.upper.hasBlob(name, digest)) || (await this.lower.hasBlob(name, digest));
  }

  async listNames(): Promise<string[]> {
    const [upper, lower] = await Promise.all([this.upper.listNames(), this.lower.listNames()]);
    return [...new Set([...upper, ...lower])].sort();
  }

  async readIndex(name: string): Promise<ModuleIndex | undefined> {
    const [lower, upper] = await Promise.all([this.lower.readIndex(name), this.upper.readIndex(name)]);
    return mergeIndexes(name, lower, upper);
  }

  /**
   * `update` sees the merged index; the writable store keeps what differs from the read-only
   * one. An update that would drop a read-only version throws E_REGISTRY_READ_ONLY and changes
   * nothing.
   */
  async updateIndex(
    name: string,
    update: (current: ModuleIndex | undefined) => ModuleIndex,
  ): Promise<ModuleIndex> {
    const lower = await this.lower.readIndex(name);
    let merged: ModuleIndex | undefined;
    await this.upper.updateIndex(name, (current) => {
      const next = update(mergeIndexes(name, lower, current));
      const own: Record<string, VersionEntry> = {};
      for (const [version, entry] of Object.entries(next.versions)) {
        const below = lower?.versions[version];
        // Kept above when new, when already recorded above, or when it differs from below.
        if (!below || current?.versions[version] || !same(entry, below)) own[version] = entry;
      }
      for (const version of Object.keys(lower?.versions ?? {}))
        if (!(version in next.versions))
          throw readOnly(this.lower, `${name}@${version}`, 'update index', name);
      const distTags = Object.fromEntries(
        Object.entries(next.distTags).filter(([tag, version]) => tag !== 'latest' && version in own),
      );
      merged = mergeIndexes(name, lower, next);
      return withLatest({ ...next, versions: own, distTags });
    });
    return merged!;
  }

  /**
   * The writable store's blobs only: what garbage collection may delete. The read-only store's
   * blobs are never candidates (a blob no index references there is the zoo's own business), and
   * verification reads every referenced blob, through to the read-only store, by digest.
   */
  listBlobs(): Promise<string[] | undefined> {
    return this.upper.listBlobs();
  }

  /** Deletes from the writable store; a blob only the read-only one holds is E_REGISTRY_READ_ONLY. */
  async deleteBlob(digest: string): Promise<void> {
    if ((await this.upper.listBlobs())?.includes(digest)) return this.upper.deleteBlob(digest);
    throw readOnly(this.lower, `blob ${digest}`, 'delete blob');
  }

  async blobAgeMs(digest: string): Promise<number | undefined> {
    return (await this.upper.blobAgeMs(digest)) ?? (await this.lower.blobAgeMs(digest));
  }

  sweep(olderThanMs: number): Promise<number> {
    return this.upper.sweep(olderThanMs);
  }

  init(): Promise<'created' | 'exists'> {
    if (!this.upper.init)
      throw new TransplantError('E_INVALID_ARGUMENT', `${this.upper.location} is not made from here`, {
        operation: 'init',
      });
    return this.upper.init();
  }
}
