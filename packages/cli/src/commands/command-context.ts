import { CORE_TOKENS, type BackendSelection, type BackendSelector } from '@transplant/core';
import { REGISTRY_TOKENS, type Registry, type RegistryOpener } from '@transplant/registry';
import type { Container } from 'inversify';
import { resolveRegistryLocation } from '../registry-location';

/** What every command gets from the program: the composition root, the global options and the output. */
export interface CommandContext {
  readonly container: () => Container;
  readonly globals: () => { registry?: string; json?: boolean; backend?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (value: unknown, text: string) => void;
  readonly err: (text: string) => void;
}

/** Selects the tensor back end that `--backend` / TRANSPLANT_BACKEND asks for (or the first that works). */
export function selectCommandBackend(
  ctx: CommandContext,
  container: Container = ctx.container(),
): Promise<BackendSelection> {
  return container
    .get<BackendSelector>(CORE_TOKENS.BackendSelector)
    .select({ requested: ctx.globals().backend, env: ctx.env });
}

/** Opens the registry at `location`, else the one `--registry` / TRANSPLANT_REGISTRY / the embedded default names. */
export function openCommandRegistry(
  ctx: CommandContext,
  location?: string,
  container: Container = ctx.container(),
): Promise<Registry> {
  return container.get<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener)(
    location ?? resolveRegistryLocation(ctx.globals().registry, ctx.env).location,
  );
}
