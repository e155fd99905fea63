import { ContainerModule } from 'inversify';
import type { ModulePlugin } from '@transplant/core';
import { PluginRegistry } from './plugin-registry';

export const COMPOSER_TOKENS = {
  /** Contribution point (multi-bound): the `ModulePlugin`s; a family bound twice throws E_PLUGIN_DUPLICATE. */
  ModulePlugin: Symbol.for('transplant.composer.ModulePlugin'),
  /** The `PluginRegistry` of every bound module plugin. */
  PluginRegistry: Symbol.for('transplant.composer.PluginRegistry'),
} as const;

/**
 * Bindings of @transplant/composer, loaded by composition roots. Plugin packages may not depend
 * on inversify, so the composition root's module binds them under `COMPOSER_TOKENS.ModulePlugin`.
 */
export const composerContainerModule = new ContainerModule(({ bind }) => {
  bind<PluginRegistry>(COMPOSER_TOKENS.PluginRegistry).toDynamicValue(
    (ctx) => new PluginRegistry(ctx.getAll<ModulePlugin>(COMPOSER_TOKENS.ModulePlugin)),
  );
});
