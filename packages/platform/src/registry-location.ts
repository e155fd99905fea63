import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Environment } from '@transplant/core';
import type { OpenStoreOptions } from '@transplant/registry';
import { ZOO_REGISTRY } from '@transplant/zoo';

/** This package's folder (computed in a module directly under src/, so the same from dist/). */
const PLATFORM_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The Transplant workspace this package is part of, or undefined where it is installed as a
 * dependency. The workspace is recognised by what it is — this package's real folder is
 * `packages/platform` of a folder whose package.json is the workspace's (named
 * `transplant-workspace`, with workspaces) — and never under a `node_modules` folder, so that an
 * install that happens to have a `registry/` folder two levels up is not taken for it.
 */
export function findWorkspaceRoot(packageRoot: string = PLATFORM_ROOT): string | undefined {
  let real: string;
  try {
    real = realpathSync(packageRoot);
  } catch {
    return undefined;
  }
  if (real.split(sep).includes('node_modules')) return undefined;
  if (basename(real) !== 'platform' || basename(dirname(real)) !== 'packages') return undefined;
  const root = dirname(dirname(real));
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    return pkg['name'] === 'transplant-workspace' && Array.isArray(pkg['workspaces']) ? root : undefined;
  } catch {
    return undefined;
  }
}

/** The workspace's root folder, or undefined where Transplant is installed from packages. */
export const WORKSPACE_ROOT: string | undefined = findWorkspaceRoot();

/**
 * The embedded registry: the workspace's `registry/` folder, wherever the command runs from (the
 * workspace's tools and tests use it; an installed CLI's default is `resolveRegistryLocation`'s).
 */
export const EMBEDDED_REGISTRY = fileURLToPath(new URL('../../../registry', import.meta.url));

/** The model zoo shipped as the `@transplant/zoo` package: a read-only folder registry. */
export { ZOO_REGISTRY };

/** The installed CLI's writable default registry: `$XDG_DATA_HOME/transplant/registry`, else `~/.local/share/transplant/registry`. */
export function userRegistry(env: Environment): string {
  const xdg = env['XDG_DATA_HOME'];
  // The XDG base directory spec ignores a relative path.
  const data = xdg && isAbsolute(xdg) ? xdg : join(env['HOME'] || homedir(), '.local', 'share');
  return join(data, 'transplant', 'registry');
}

export interface RegistryLocation {
  /** Where reads start and publishes go. */
  readonly location: string;
  /**
   * `flag` (--registry), `env` (TRANSPLANT_REGISTRY), `embedded` (the workspace's registry/) or
   * `default` (installed: the user's registry, reading through to the zoo).
   */
  readonly source: 'flag' | 'env' | 'embedded' | 'default';
  readonly exists: boolean;
  /** The read-only registry `location` reads through to (the zoo), for the `default` source only. */
  readonly readThrough?: { readonly location: string; readonly exists: boolean };
}

/** Where the defaults come from: the workspace (if any) and the zoo package. For tests. */
export interface RegistryDefaults {
  readonly workspaceRoot: string | undefined;
  readonly zoo: string;
}

/**
 * `--registry`, else `TRANSPLANT_REGISTRY`, else the default: inside the workspace its
 * `registry/` (embedded), installed the user's registry (`userRegistry`) over the zoo.
 */
export function resolveRegistryLocation(
  flag: string | undefined,
  env: Environment,
  cwd = process.cwd(),
  defaults: RegistryDefaults = { workspaceRoot: WORKSPACE_ROOT, zoo: ZOO_REGISTRY },
): RegistryLocation {
  const fromEnv = env['TRANSPLANT_REGISTRY'] || undefined;
  if (!flag && !fromEnv && defaults.workspaceRoot === undefined) {
    const location = userRegistry(env);
    return {
      location,
      source: 'default',
      exists: existsSync(location),
      readThrough: { location: defaults.zoo, exists: existsSync(defaults.zoo) },
    };
  }
  const [raw, source] = flag
    ? [flag, 'flag' as const]
    : fromEnv
      ? [fromEnv, 'env' as const]
      : [join(defaults.workspaceRoot!, 'registry'), 'embedded' as const];
  // OCI references (oci://host/namespace) are locations, not paths.
  const location = /^[a-z][a-z0-9+.-]*:\/\//.test(raw) ? raw : resolve(cwd, raw);
  return { location, source, exists: location.includes('://') || existsSync(location) };
}

/**
 * How to open a resolved location: the default user registry is made on its first write (it is
 * nobody's typo) and reads through to the zoo; any other is created only when `create` says so.
 */
export function registryOpenOptions(where: RegistryLocation, create = false): OpenStoreOptions {
  return where.readThrough ? { create: true, readThrough: where.readThrough.location } : { create };
}
