import { ContainerModule } from 'inversify';
import { CORE_TOKENS, type Environment } from '@transplant/core';
import { openStore } from './open-store';
import { Registry } from './registry';

/** Opens the registry at a location (a folder path or oci://host/namespace). */
export type RegistryOpener = (location: string) => Promise<Registry>;

export const REGISTRY_TOKENS = {
  RegistryOpener: Symbol.for('transplant.registry.RegistryOpener'),
} as const;

/** Bindings of @transplant/registry, loaded by composition roots. */
export const registryContainerModule = new ContainerModule(({ bind }) => {
  bind<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener).toDynamicValue((ctx) => {
    const env = ctx.get<Environment>(CORE_TOKENS.Environment);
    return async (location: string) => new Registry(await openStore(location, env));
  });
});
