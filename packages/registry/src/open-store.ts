import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Environment } from '@transplant/core';
import { CachedStore } from './cache/cached-store';
import { FolderStore } from './folder/folder-store';
import { resolveCredentials } from './oci/credentials';
import { OciStore, parseOciLocation } from './oci/oci-store';
import type { RegistryStore } from './store';

/** The blob cache of remote registries: TRANSPLANT_CACHE, else ~/.cache/transplant. */
export function cacheDir(env: Environment): string {
  return env['TRANSPLANT_CACHE'] || join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'transplant');
}

/** A folder path → the folder store; `oci://host/namespace` → the OCI store behind the blob cache. */
export async function openStore(location: string, env: Environment): Promise<RegistryStore> {
  if (location.startsWith('oci://')) {
    const { host } = parseOciLocation(location);
    const store = new OciStore(location, await resolveCredentials(host, env));
    return new CachedStore(store, cacheDir(env));
  }
  return new FolderStore(location.replace(/^folder:/, ''));
}
