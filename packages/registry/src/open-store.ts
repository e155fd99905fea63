import { homedir } from 'node:os';
import { join } from 'node:path';
import { TransplantError, type Environment } from '@transplant/core';
import { CachedStore } from './cache/cached-store';
import { FolderStore } from './folder/folder-store';
import { LayeredStore } from './layered/layered-store';
import { resolveCredentials } from './oci/credentials';
import { OciStore, ociStoreOptions, parseOciLocation } from './oci/oci-store';
import type { RegistryStore } from './store';
import type { OpenStoreOptions, RegistryStoreFactory } from './store-factory';

/** The blob cache of remote registries: TRANSPLANT_CACHE, else ~/.cache/transplant. */
export function cacheDir(env: Environment): string {
  return (
    env['TRANSPLANT_CACHE'] ||
    join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'transplant')
  );
}

/** `oci://host/namespace` → the OCI store behind the blob cache. */
export const ociStoreFactory: RegistryStoreFactory = {
  locations: 'oci://host[:port]/namespace',
  accepts: (location) => location.startsWith('oci://'),
  async open(location, env) {
    const { host } = parseOciLocation(location);
    const store = new OciStore(location, await resolveCredentials(host, env), fetch, ociStoreOptions(env));
    return new CachedStore(store, cacheDir(env));
  },
};

/** A folder path (optionally `folder:`-prefixed): anything that names no other scheme. */
export const folderStoreFactory: RegistryStoreFactory = {
  locations: 'a folder path',
  accepts: (location) => location.startsWith('folder:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(location),
  async open(location, _env, options = {}) {
    const store = new FolderStore(location.replace(/^folder:/, ''));
    if (!options.create) await store.assertExists();
    return store;
  },
};

/** The stores @transplant/registry provides, in the order its container module binds them. */
export const DEFAULT_STORE_FACTORIES: readonly RegistryStoreFactory[] = [ociStoreFactory, folderStoreFactory];

/**
 * Opens the store of the first factory that accepts `location` (default: the folder and OCI
 * stores). A folder that does not exist is E_REGISTRY_NOT_FOUND unless `options.create`. With
 * `options.readThrough`, the store reads through to that (read-only) registry.
 */
export async function openStore(
  location: string,
  env: Environment,
  factories: readonly RegistryStoreFactory[] = DEFAULT_STORE_FACTORIES,
  options: OpenStoreOptions = {},
): Promise<RegistryStore> {
  const { readThrough, ...own } = options;
  if (readThrough !== undefined) {
    const lower = await openStore(readThrough, env, factories);
    return new LayeredStore(await openStore(location, env, factories, own), lower);
  }
  const factory = factories.find((f) => f.accepts(location));
  if (!factory) {
    throw new TransplantError(
      'E_REGISTRY_UNREACHABLE',
      `no registry store opens "${location}"; locations: ${factories.map((f) => f.locations).join(', ')}`,
      { module: location, operation: 'openStore' },
    );
  }
  return factory.open(location, env, options);
}
