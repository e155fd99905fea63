import { TransplantError } from '@transplant/core';

/** A command-line integer option, at least `min`; E_USAGE otherwise. */
export function integer(value: string, name: string, min: number, operation = 'transplant'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new TransplantError('E_USAGE', `--${name} must be an integer ≥ ${min}, not "${value}"`, {
      operation,
    });
  return n;
}
