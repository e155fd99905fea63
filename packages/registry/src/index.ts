/**
 * @transplant/registry — versioned modules that can be published, resolved, fetched (always
 * verified), yanked, verified, garbage-collected and locked; in a folder or an OCI registry.
 */
export { FolderStore } from './folder/folder-store';
export { LayeredStore, mergeIndexes } from './layered/layered-store';
export {
  Registry,
  type Fetched,
  type OpenedWeights,
  type Resolved,
  type VerifyProblem,
  type VerifyReport,
} from './registry';
export type { RegistryStore } from './store';
export {
  CHUNK_BYTES,
  bytesSource,
  digestOf,
  fileSource,
  isBlobSource,
  readAll,
  type BlobSource,
} from './blob-source';
export {
  ATTACHMENT_KIND,
  emptyIndex,
  type AttachmentEntry,
  type ModuleIndex,
  type VersionEntry,
} from './module-index';
export { readLockfile, recordInLockfile, type LockEntry, type Lockfile } from './lockfile';
export { LOCKFILE_NAME } from './options';
export { canonicalJson } from './canonical-json';
export { copyModule, type CopyResult } from './copy-module';
export { MODULE_FILES, readModuleFolder, writeModuleFolder } from './module-folder';
export {
  DEFAULT_STORE_FACTORIES,
  cacheDir,
  folderStoreFactory,
  ociStoreFactory,
  openStore,
} from './open-store';
export type { OpenStoreOptions, RegistryStoreFactory } from './store-factory';
export { OciStore, parseOciLocation } from './oci/oci-store';
export { CachedStore } from './cache/cached-store';
export { resolveCredentials, type OciCredentials } from './oci/credentials';
export { moduleFixture } from './testing/module-fixture';
export { MemoryStore, memoryStoreFactory } from './testing/memory-store';
export { REGISTRY_TOKENS, registryContainerModule, type RegistryOpener } from './registry-module';
export { listWithMetrics, type ListedModule } from './list-with-metrics';
