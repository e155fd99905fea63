import { availableParallelism } from 'node:os';
import { ContainerModule } from 'inversify';
import { CORE_TOKENS, type BackendSelector, type Environment } from '@transplant/core';
import type { DoctorDeps } from './commands/doctor';

export const CLI_TOKENS = {
  DoctorDeps: Symbol.for('transplant.cli.DoctorDeps'),
} as const;

/** Bindings of the CLI's own commands; collaborators come from the other packages' modules. */
export const cliContainerModule = new ContainerModule(({ bind }) => {
  bind<DoctorDeps>(CLI_TOKENS.DoctorDeps).toDynamicValue((ctx) => ({
    selector: ctx.get<BackendSelector>(CORE_TOKENS.BackendSelector),
    env: ctx.get<Environment>(CORE_TOKENS.Environment),
    cpus: availableParallelism(),
  }));
});
