import type { Environment } from '@transplant/core';
import type { RegistryStore } from './store';

/** How a registry is opened. */
export interface OpenStoreOptions {
  /**
   * May the store create the registry when it does not exist (explicit: `transplant registry
   * init`, `--create`)? Without it a folder that does not exist is E_REGISTRY_NOT_FOUND, so a
   * mistyped path is never read as an empty registry. The folder is made on the first write,
   * never by a read. Stores that cannot be created from here (OCI) ignore it.
   */
  readonly create?: boolean;
  /**
   * A read-only registry the opened one reads through to (`LayeredStore`): reads see both,
   * writes go only to the opened one. It must exist (E_REGISTRY_NOT_FOUND otherwise).
   */
  readonly readThrough?: string;
}

/**
 * Opens the registry store behind a location: the contribution point of registry stores
 * (multi-bound under `REGISTRY_TOKENS.StoreFactory`). The opener asks each factory in binding
 * order and uses the first that accepts the location.
 */
export interface RegistryStoreFactory {
  /** What locations it opens, e.g. `oci://host/namespace` (listed when none accepts a location). */
  readonly locations: string;
  accepts(location: string): boolean;
  open(location: string, env: Environment, options?: OpenStoreOptions): Promise<RegistryStore>;
}
