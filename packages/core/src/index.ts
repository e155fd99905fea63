/**
 * @transplant/core — the contracts every other package speaks: coded errors, module kinds and
 * ports, manifests, module references, the weights artifact codec, tensor back-end selection,
 * DI tokens and the Adam training step with its learning-rate schedule.
 */
export * from './errors';
export * from './contracts';
export * from './artifact';
export * from './backend';
export * from './di';
export * from './plugins';
export * from './layers';
export * from './training';
export * from './machine';
export * from './files';
