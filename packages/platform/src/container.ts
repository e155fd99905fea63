import { Container, type ContainerModule } from 'inversify';
import { composerContainerModule } from '@transplant/composer';
import { coreContainerModule, type Environment } from '@transplant/core';
import { registryContainerModule } from '@transplant/registry';
import { PLATFORM_TOKENS, platformContainerModule, type PlatformServices } from './platform-module';
import { GENERATED_BY } from './version';

export interface PlatformContainerOptions {
  readonly env: Environment;
  /** Loaded after the platform's modules: a composition root's own bindings, or a test's extra contributions. */
  readonly modules?: readonly ContainerModule[];
}

/**
 * The container of a composition root (the CLI per invocation, an nx executor, a tool's main):
 * built once there, and nothing below it resolves from it.
 */
export function createPlatformContainer(options: PlatformContainerOptions): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.loadSync(
    coreContainerModule({ env: options.env, generatedBy: GENERATED_BY }),
    registryContainerModule,
    composerContainerModule,
    platformContainerModule,
    ...(options.modules ?? []),
  );
  return container;
}

/** For a composition root that needs only the shared services: one container, resolved once. */
export function createPlatform(env: Environment): PlatformServices {
  return createPlatformContainer({ env }).get<PlatformServices>(PLATFORM_TOKENS.Services);
}
