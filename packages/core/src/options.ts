/**
 * `@transplant/core/options`: what a command line checks before any work — back-end ids and
 * task ids — and the coded errors it reports. Loads no tensor library, no validator, no codec
 * and no semver, so that `--help` and option checks start at once (module references and
 * versions, which need semver, are `@transplant/core/refs`).
 */
export * from './errors';
export { BACKEND_ORDER, isBackendId, type BackendId } from './backend/backend-ids';
export { TASK_IDS, type TaskId } from './contracts/module-kinds';
export type { Environment } from './di/tokens';
