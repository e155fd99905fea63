import { join, resolve } from 'node:path';
import type { BackendSelection } from '@transplant/core';
import type { PlatformServices } from '@transplant/platform';
import { WORKSPACE_ROOT, registryOpenOptions, resolveRegistryLocation } from '@transplant/platform/options';
import type { Registry } from '@transplant/registry';
import type { Progress, ProgressOptions } from '../progress';

/**
 * The `--reports` default: in the workspace its `reports/` folder, wherever a command runs from;
 * installed, `reports/` under the folder the command runs in (docs/install.md).
 */
export const REPORTS_DIR = WORKSPACE_ROOT ? join(WORKSPACE_ROOT, 'reports') : resolve('reports');

/**
 * What every command gets from the program: the services the composition root resolves once,
 * on first use (commands never see the container), the global options and the output.
 */
export interface CommandContext {
  readonly services: () => PlatformServices;
  readonly globals: () => { registry?: string; json?: boolean; backend?: string; create?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (value: unknown, text: string) => void;
  readonly err: (text: string) => void;
  /** Progress of a loop on stderr: a bar on a terminal, periodic lines elsewhere (progress.ts). */
  readonly progress: (options: ProgressOptions) => Progress;
}

/** Selects the tensor back end that `--backend` / TRANSPLANT_BACKEND asks for (or the first that works). */
export function selectCommandBackend(ctx: CommandContext): Promise<BackendSelection> {
  return ctx.services().backendSelector.select({ requested: ctx.globals().backend, env: ctx.env });
}

/**
 * Opens the registry at `location`, else the one `--registry` / TRANSPLANT_REGISTRY / the default
 * names (the workspace's embedded registry; installed, the user's registry over the zoo, made on
 * its first write). A folder that does not exist is E_REGISTRY_NOT_FOUND, except for a command
 * that publishes into it (`write`) when `--create` is given: then its first write creates it.
 */
export function openCommandRegistry(
  ctx: CommandContext,
  location?: string,
  { write = false }: { readonly write?: boolean } = {},
): Promise<Registry> {
  const create = write && ctx.globals().create === true;
  if (location !== undefined) return ctx.services().openRegistry(location, { create });
  const where = resolveRegistryLocation(ctx.globals().registry, ctx.env);
  return ctx.services().openRegistry(where.location, registryOpenOptions(where, create));
}
