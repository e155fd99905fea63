/**
 * @transplant/platform — what every composition root (the CLI, nx executors, tools) shares:
 * the built-in module plugins, the registry locations (the workspace's embedded registry; installed,
 * the user's registry over the zoo package), Transplant's version and the container factory.
 */
export { BUILTIN_PLUGINS } from './builtin-plugins';
export { createPlatform, createPlatformContainer, type PlatformContainerOptions } from './container';
export { PLATFORM_TOKENS, platformContainerModule, type PlatformServices } from './platform-module';
export * from './options';
