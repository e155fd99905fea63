export { ERROR_CATALOG, ERROR_CODES, type ErrorCode } from './catalog';
export { TransplantError, isTransplantError, type TransplantErrorOptions } from './transplant-error';
export { storageError } from './storage-error';
