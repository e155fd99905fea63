import { ContainerModule } from 'inversify';
import { COMPOSER_TOKENS, type PluginRegistry } from '@transplant/composer';
import { CORE_TOKENS, type BackendSelector, type ModulePlugin } from '@transplant/core';
import { REGISTRY_TOKENS, type RegistryOpener } from '@transplant/registry';
import { BUILTIN_PLUGINS } from './builtin-plugins';

/** What a composition root hands to the code below it: resolved once, then passed on. */
export interface PlatformServices {
  readonly plugins: PluginRegistry;
  readonly openRegistry: RegistryOpener;
  readonly backendSelector: BackendSelector;
  /** `transplant/<version>`, written into every artifact. */
  readonly generatedBy: string;
}

export const PLATFORM_TOKENS = {
  Services: Symbol.for('transplant.platform.Services'),
} as const;

/** The built-in plugins as module-plugin contributions, and the services bundle of the composition roots. */
export const platformContainerModule = new ContainerModule(({ bind }) => {
  for (const plugin of BUILTIN_PLUGINS)
    bind<ModulePlugin>(COMPOSER_TOKENS.ModulePlugin).toConstantValue(plugin);
  bind<PlatformServices>(PLATFORM_TOKENS.Services).toDynamicValue((ctx) => ({
    plugins: ctx.get<PluginRegistry>(COMPOSER_TOKENS.PluginRegistry),
    openRegistry: ctx.get<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener),
    backendSelector: ctx.get<BackendSelector>(CORE_TOKENS.BackendSelector),
    generatedBy: ctx.get<string>(CORE_TOKENS.GeneratedBy),
  }));
});
