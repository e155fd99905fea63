/**
 * @transplant/platform — what every composition root (the CLI, nx executors, tools) shares:
 * the built-in module plugins, the embedded registry location, Transplant's version and the
 * container factory.
 */
export { BUILTIN_PLUGINS } from './builtin-plugins';
export { createPlatform, createPlatformContainer, type PlatformContainerOptions } from './container';
export { PLATFORM_TOKENS, platformContainerModule, type PlatformServices } from './platform-module';
export * from './options';
