import type { BackendSelection, SelectBackendOptions } from '../backend';

/** Chooses and activates the tensor back end; bound to `selectBackend`, replaced in tests. */
export interface BackendSelector {
  select(options: SelectBackendOptions): Promise<BackendSelection>;
}

/** The process environment, as configuration. */
export type Environment = Readonly<Record<string, string | undefined>>;

export const CORE_TOKENS = {
  Environment: Symbol.for('transplant.core.Environment'),
  BackendSelector: Symbol.for('transplant.core.BackendSelector'),
  /** `transplant/<version>`: written into every artifact as `generatedBy`. */
  GeneratedBy: Symbol.for('transplant.core.GeneratedBy'),
  /** Contribution point (multi-bound): `KernelPatchContribution`s the back-end selector installs. */
  KernelPatchContribution: Symbol.for('transplant.core.KernelPatchContribution'),
} as const;
