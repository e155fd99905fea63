import { Container } from 'inversify';
import { coreContainerModule, type Environment } from '@transplant/core';
import { registryContainerModule } from '@transplant/registry';
import { cliContainerModule } from './cli-module';
import { GENERATED_BY } from './version';

/** The composition root: the only place that builds a container. */
export function buildContainer(env: Environment): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.loadSync(
    coreContainerModule({ env, generatedBy: GENERATED_BY }),
    registryContainerModule,
    cliContainerModule,
  );
  return container;
}
