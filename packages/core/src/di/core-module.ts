import { ContainerModule } from 'inversify';
import { DEFAULT_KERNEL_PATCHES, selectBackend, type KernelPatchContribution } from '../backend';
import { CORE_TOKENS, type BackendSelector, type Environment } from './tokens';

export interface CoreModuleOptions {
  readonly env: Environment;
  /** The running tool's `name/version`, e.g. `transplant/0.1.0`. */
  readonly generatedBy: string;
}

/** Bindings of @transplant/core, loaded by composition roots (the CLI, nx executors, tools). */
export function coreContainerModule(options: CoreModuleOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Environment>(CORE_TOKENS.Environment).toConstantValue(options.env);
    bind<string>(CORE_TOKENS.GeneratedBy).toConstantValue(options.generatedBy);
    for (const kernels of DEFAULT_KERNEL_PATCHES) {
      bind<KernelPatchContribution>(CORE_TOKENS.KernelPatchContribution).toConstantValue(kernels);
    }
    bind<BackendSelector>(CORE_TOKENS.BackendSelector).toDynamicValue((ctx) => {
      const kernels = ctx.getAll<KernelPatchContribution>(CORE_TOKENS.KernelPatchContribution);
      return { select: (selectOptions) => selectBackend({ ...selectOptions, kernels }) };
    });
  });
}
