import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Environment } from '@transplant/core';

/** The embedded default registry: the workspace's `registry/` folder, wherever the command runs from. */
export const EMBEDDED_REGISTRY = fileURLToPath(new URL('../../../registry', import.meta.url));

export interface RegistryLocation {
  readonly location: string;
  readonly source: 'flag' | 'env' | 'embedded';
  readonly exists: boolean;
}

/** `--registry`, else `TRANSPLANT_REGISTRY`, else the embedded registry. */
export function resolveRegistryLocation(
  flag: string | undefined,
  env: Environment,
  cwd = process.cwd(),
): RegistryLocation {
  const fromEnv = env['TRANSPLANT_REGISTRY'] || undefined;
  const [raw, source] = flag
    ? [flag, 'flag' as const]
    : fromEnv
      ? [fromEnv, 'env' as const]
      : [EMBEDDED_REGISTRY, 'embedded' as const];
  // OCI references (oci://host/namespace) are locations, not paths.
  const location = /^[a-z][a-z0-9+.-]*:\/\//.test(raw) ? raw : resolve(cwd, raw);
  return { location, source, exists: location.includes('://') || existsSync(location) };
}
