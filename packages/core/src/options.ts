/**
 * `@transplant/core/options`: what a command line checks before any work — back-end ids, task
 * ids, module references and versions — and the coded errors it reports. Loads no tensor
 * library, no validator and no codec, so that `--help` and option checks start at once.
 */
export * from './errors';
export { BACKEND_ORDER, isBackendId, type BackendId } from './backend/backend-ids';
export { TASK_IDS, type TaskId } from './contracts/module-kinds';
export { isExactVersion, parseModuleRef, type ModuleRef } from './contracts/module-ref';
export { isModuleName } from './contracts/names';
export type { Environment } from './di/tokens';
