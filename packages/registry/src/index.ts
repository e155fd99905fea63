/**
 * @transplant/registry — versioned modules that can be published, resolved, fetched (always
 * verified), yanked, verified, garbage-collected and locked; in a folder or an OCI registry.
 */
export { FolderStore } from './folder/folder-store';
export { Registry, type Fetched, type Resolved, type VerifyProblem, type VerifyReport } from './registry';
export type { RegistryStore } from './store';
export { emptyIndex, type ModuleIndex, type VersionEntry } from './module-index';
export { LOCKFILE_NAME, readLockfile, recordInLockfile, type LockEntry, type Lockfile } from './lockfile';
export { canonicalJson } from './canonical-json';
export { moduleFixture } from './testing/module-fixture';
