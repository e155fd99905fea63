import type { BlobSource } from './blob-source';
import type { ModuleIndex } from './module-index';

/**
 * Where a registry keeps its bytes. Blobs are content-addressed (sha256); each module name has
 * one index. Stores move bytes; the Registry above them validates, verifies and decides.
 * Blobs of any size stream through `putBlob` (a BlobSource) and `openBlob` in O(chunk) memory.
 */
export interface RegistryStore {
  /** `folder:/abs/path` or `oci://host/namespace`. */
  readonly location: string;
  /**
   * Stores a blob for module `name` (OCI registries keep blobs per repository; folders share
   * them). The store hashes the bytes as it writes them; bytes that do not hash to `digest`
   * throw E_DIGEST_MISMATCH and leave nothing behind.
   */
  putBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void>;
  /** The stored bytes, unverified (the caller checks the digest), or undefined when absent. For small blobs. */
  getBlob(name: string, digest: string): Promise<Uint8Array | undefined>;
  /** The stored bytes as a stream, unverified (the caller hashes them), or undefined when absent. */
  openBlob(name: string, digest: string): Promise<BlobSource | undefined>;
  hasBlob(name: string, digest: string): Promise<boolean>;
  listNames(): Promise<string[]>;
  readIndex(name: string): Promise<ModuleIndex | undefined>;
  /**
   * Atomically replaces a module's index with `update(current)`. `update` may throw (e.g.
   * E_VERSION_EXISTS) to change nothing; it may run more than once under contention.
   */
  updateIndex(name: string, update: (current: ModuleIndex | undefined) => ModuleIndex): Promise<ModuleIndex>;
  /** Every blob digest the store holds (for verify and gc); undefined when the store cannot list. */
  listBlobs(): Promise<string[] | undefined>;
  deleteBlob(digest: string): Promise<void>;
  /** How long ago a blob was written, when the store knows (gc's grace period needs it). */
  blobAgeMs(digest: string): Promise<number | undefined>;
  /** Removes leftovers of interrupted writes older than `olderThanMs`; returns how many. */
  sweep(olderThanMs: number): Promise<number>;
  /**
   * Makes an empty registry where there is none (`transplant registry init`); 'exists' when
   * one is already there. Absent where a registry is not made from here (OCI: the server's).
   */
  init?(): Promise<'created' | 'exists'>;
}
