import { ERROR_CATALOG, type ErrorCode } from './catalog';

export interface TransplantErrorOptions {
  /** The module (or package, plugin, kernel) the error concerns, when there is one. */
  readonly module?: string;
  /** The operation that failed, e.g. `publish`, `decode`, `selectBackend`. */
  readonly operation?: string;
  /** Machine-readable details (violations, expected/actual digests, …). */
  readonly details?: unknown;
  readonly cause?: unknown;
}

/**
 * The base of every error raised on purpose. `code` is stable and is what callers and tests
 * match on; the message is for people and ends with what to do next.
 */
export class TransplantError extends Error {
  readonly code: ErrorCode;
  readonly module: string | undefined;
  readonly operation: string | undefined;
  readonly details: unknown;
  readonly hint: string;
  /** What went wrong, as passed to the constructor (the message without code, title, place and hint). */
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options: TransplantErrorOptions = {}) {
    const entry = ERROR_CATALOG[code];
    const where = [options.operation, options.module].filter(Boolean).join(' ');
    super(`${code}: ${entry.title}${where ? ` (${where})` : ''}: ${detail}. ${entry.hint}.`, {
      cause: options.cause,
    });
    this.name = 'TransplantError';
    this.code = code;
    this.module = options.module;
    this.operation = options.operation;
    this.details = options.details;
    this.hint = entry.hint;
    this.detail = detail;
  }
}

export function isTransplantError(error: unknown, code?: ErrorCode): error is TransplantError {
  return error instanceof TransplantError && (code === undefined || error.code === code);
}
