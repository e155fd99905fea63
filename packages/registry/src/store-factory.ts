import type { Environment } from '@transplant/core';
import type { RegistryStore } from './store';

/**
 * Opens the registry store behind a location: the contribution point of registry stores
 * (multi-bound under `REGISTRY_TOKENS.StoreFactory`). The opener asks each factory in binding
 * order and uses the first that accepts the location.
 */
export interface RegistryStoreFactory {
  /** What locations it opens, e.g. `oci://host/namespace` (listed when none accepts a location). */
  readonly locations: string;
  accepts(location: string): boolean;
  open(location: string, env: Environment): Promise<RegistryStore>;
}
