import { TransplantError, isTransplantError } from './transplant-error';

const FULL = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A file-system failure while writing `what`, as a coded error: a full disk or quota is
 * E_DISK_FULL; another errno (no permission, read-only, not a folder) is E_INVALID_ARGUMENT
 * naming the path and `otherwise`, what to do. Coded errors and non-errno failures pass through.
 */
export function storageError(
  error: unknown,
  what: string,
  options: { readonly operation: string; readonly module?: string; readonly otherwise?: string },
): unknown {
  if (isTransplantError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  const place = {
    operation: options.operation,
    ...(options.module ? { module: options.module } : {}),
    cause: error,
  };
  if (FULL.has(code))
    return new TransplantError('E_DISK_FULL', `no space left while writing ${what} (${code})`, place);
  return new TransplantError(
    'E_INVALID_ARGUMENT',
    `cannot write ${what} (${code}: ${(error as Error).message})${options.otherwise ? `; ${options.otherwise}` : ''}`,
    place,
  );
}
