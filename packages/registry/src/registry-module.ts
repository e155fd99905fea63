import { ContainerModule } from 'inversify';
import { CORE_TOKENS, type Environment } from '@transplant/core';
import { DEFAULT_STORE_FACTORIES, openStore } from './open-store';
import { Registry } from './registry';
import type { OpenStoreOptions, RegistryStoreFactory } from './store-factory';

/**
 * Opens the registry at a location (a folder path or oci://host/namespace); a folder that does
 * not exist is E_REGISTRY_NOT_FOUND unless `options.create`.
 */
export type RegistryOpener = (location: string, options?: OpenStoreOptions) => Promise<Registry>;

export const REGISTRY_TOKENS = {
  RegistryOpener: Symbol.for('transplant.registry.RegistryOpener'),
  /** Contribution point (multi-bound): `RegistryStoreFactory`s, asked in binding order. */
  StoreFactory: Symbol.for('transplant.registry.StoreFactory'),
} as const;

/** Bindings of @transplant/registry, loaded by composition roots. */
export const registryContainerModule = new ContainerModule(({ bind }) => {
  for (const factory of DEFAULT_STORE_FACTORIES) {
    bind<RegistryStoreFactory>(REGISTRY_TOKENS.StoreFactory).toConstantValue(factory);
  }
  bind<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener).toDynamicValue((ctx) => {
    const env = ctx.get<Environment>(CORE_TOKENS.Environment);
    const factories = ctx.getAll<RegistryStoreFactory>(REGISTRY_TOKENS.StoreFactory);
    return async (location: string, options?: OpenStoreOptions) =>
      new Registry(await openStore(location, env, factories, options));
  });
});
