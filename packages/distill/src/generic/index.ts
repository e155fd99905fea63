/**
 * Generic networks: N category modules × M task modules, one adapter per link, grown one
 * specific network at a time under a guard that refuses any change to what it already computed.
 */
export { GUARD_PROBE, assertNoForgetting, linkDigests } from './guard';
export { createGeneric, type CreateGenericOptions } from './create';
export {
  addCategory,
  addTask,
  removeCategory,
  type GrowFromOptions,
  type RemoveCategoryOptions,
} from './operations';
export type { LinkTraining } from './links';
export {
  genericMatrix,
  loadGeneric,
  type GenericChange,
  type GenericContext,
  type GenericMatrix,
  type GenericNetwork,
  type LinkOutcome,
} from './network';
